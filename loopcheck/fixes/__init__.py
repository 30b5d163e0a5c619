"""Fix machinery: the builder that turns node changes into text edits (built only on demand),
statement edits, import placement, code templates, and one module per shape of rewrite the rules
share: ``per_loop`` (LCK1xx), ``per_loop_client`` (LCK3xx), ``getter`` (a getter that keeps one
object, LCK104 and LCK303), ``lifecycle`` (a loop's runs handed to asyncio, LCK2xx)."""
