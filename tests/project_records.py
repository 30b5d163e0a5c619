"""The project rules' examples as the project model should see them, built by hand: the
summaries of their modules and the reach of their objects. (Until the summariser and the reach
step run the examples themselves, these stand in for them; see tests/test_project_rules.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from loopcheck.engine.diagnostics import Location
from loopcheck.project.model import ProjectModel
from loopcheck.project.reach import CONFINED, DEFAULT_ERROR, SHARED, Chain, Loop, ObjectReach
from loopcheck.project.records import MODULE_CODE, Class, Function, Holder, LoopStart, ModuleSummary, Reference


@dataclass
class HandReach:
    """What ``compute_reach`` returns, as the rules read it."""

    objects: dict[tuple[str, str], ObjectReach] = field(default_factory=dict)


def summary(path, imports=None, functions=(), classes=(), holders=(), instances=None):
    return ModuleSummary(
        module=path[:-3].replace("/", "."), path=path, is_package=False,
        imports=tuple((imports or {}).items()), star_imports=(), functions=tuple(functions),
        classes=tuple(classes), holders=tuple(holders), instances=tuple((instances or {}).items()),
    )


def module_code(*references, starts=()):
    return Function(MODULE_CODE, False, 1, 0, references=tuple(references), starts=tuple(starts))


def loop(key, describe, path, line, column, lifetime="per-call", repeats=True):
    return Loop(key, lifetime, repeats, describe, Location(path, line, column, describe))


def chain(at, *steps):
    return Chain(at, tuple(Location(path, line, column, name) for path, line, column, name in steps))


def reached(module, holder, *chains, verdict=SHARED, error=DEFAULT_ERROR):
    path = module.replace(".", "/") + ".py"
    return {(module, holder.name): ObjectReach(module, path, holder, tuple(chains), verdict, "by hand", error)}


CELERY_CRAWL = loop("app.crawl.crawl", "the Celery task 'crawl' (asyncio.run: a new event loop per call)", "app/crawl.py", 11, 12)
SERVER = loop("server", "the async route handler 'orders' (the server's loop)", "app/api.py", 8, 1, lifetime="server",
              repeats=False)

# -- LCK306 -----------------------------------------------------------------------------------

# What the reach says a Playwright object meets under a new loop after the first was closed.
PLAYWRIGHT_CLOSED = "Target page, context or browser has been closed"

BROWSER = summary(
    "app/browser.py",
    imports={"async_playwright": "playwright.async_api.async_playwright"},
    classes=[Class("CookieBrowser", (), ("__init__", "start"), 4)],
    functions=[Function("CookieBrowser.start", True, 8, 4, parameters=("self",))],
    holders=[Holder("CookieBrowser.playwright", "client", "Playwright", "instance-attribute", 9, 32)],
)
CRAWL_IMPORTS = {"asyncio": "asyncio", "CookieBrowser": "app.browser.CookieBrowser", "shared_task": "celery.shared_task"}


def crawl(instances=True, task=True):
    functions = [module_code(Reference("CookieBrowser", 6, 17)) if instances else module_code()]
    if task:
        functions.append(Function("crawl", False, 10, 0, contexts=("celery-task",), starts=(
            LoopStart("asyncio.run", "per-call", None, (Reference("fetch", 11, 23),), 11, 11),)))
    return summary("app/crawl.py", CRAWL_IMPORTS, functions,
                   instances={"cookie_browser": "CookieBrowser"} if instances else {})


STOPPED_BROWSER = summary(
    "app/browser.py",
    imports=dict(BROWSER.imports),
    classes=[Class("CookieBrowser", (), ("__init__", "start", "stop"), 4)],
    functions=[*BROWSER.functions, Function("CookieBrowser.stop", True, 12, 4, parameters=("self",))],
    holders=BROWSER.holders,
)
BROWSER_REACH = chain(CELERY_CRAWL, ("app/crawl.py", 11, 24, "crawl.fetch"), ("app/crawl.py", 15, 11, "cookie_browser.start"))
LCK306 = [
    ([BROWSER, crawl()], reached("app.browser", BROWSER.holders[0], BROWSER_REACH, error=PLAYWRIGHT_CLOSED)),
    ([BROWSER, crawl(task=False)], reached("app.browser", BROWSER.holders[0], chain(SERVER), verdict=CONFINED)),
    ([BROWSER, crawl(instances=False)], reached("app.browser", BROWSER.holders[0], BROWSER_REACH, error=PLAYWRIGHT_CLOSED)),
    ([STOPPED_BROWSER, crawl()], reached("app.browser", BROWSER.holders[0], BROWSER_REACH, error=PLAYWRIGHT_CLOSED)),
]

# -- LCK307 -----------------------------------------------------------------------------------

MANAGER = summary("app/manager.py", classes=[Class("ClientManager", (), (), 1)])
POOL = Holder("ClientManager._pools", "client", "asyncpg.Pool", "registry", 8, 43)
STORE = summary(
    "app/store.py", {"asyncpg": "asyncpg", "ClientManager": "app.manager.ClientManager"},
    [Function("pool", True, 6, 0, references=(Reference("asyncpg.create_pool", 8, 43),))], holders=[POOL],
)
COUNT_JOBS = loop("app.tasks.count_jobs", "the Celery task 'count_jobs' (asyncio.run: a new event loop per call)",
                  "app/tasks.py", 13, 12)
TASKS = summary("app/tasks.py", {"asyncio": "asyncio", "pool": "app.store.pool", "shared_task": "celery.shared_task"})
LCK307 = [
    ([MANAGER, STORE, TASKS], reached("app.store", POOL, chain(COUNT_JOBS, ("app/tasks.py", 13, 24, "tasks.count"),
                                                                 ("app/tasks.py", 8, 25, "store.pool")))),
    ([MANAGER, STORE], reached("app.store", POOL, verdict="unreached")),
]

# -- LCK107 -----------------------------------------------------------------------------------

REFRESH = Holder("_refresh", "future", "asyncio.ensure_future", "lazy-global", 13, 19)
TOKENS = summary("app/tokens.py", {"asyncio": "asyncio"}, [
    Function("start_refresh", True, 10, 0, references=(Reference("asyncio.ensure_future", 13, 19),)),
    Function("current_token", True, 16, 0, references=(Reference("_refresh", 17, 17, called=False),)),
], holders=[REFRESH])
WARM_LOOP = loop("app.warm._worker_loop", "the Celery task 'warm_up' (run_until_complete: the loop it is called on)",
                 "app/warm.py", 11, 5, lifetime="kept", repeats=False)
SYNC_LOOP = loop("app.sync.sync_orders", "the Celery task 'sync_orders' (asyncio.run: a new event loop per call)",
                 "app/sync.py", 9, 12)
LCK107 = [
    ([TOKENS, summary("app/warm.py"), summary("app/sync.py")],
     reached("app.tokens", REFRESH, chain(WARM_LOOP, ("app/warm.py", 11, 37, "tokens.start_refresh")),
             chain(SYNC_LOOP, ("app/sync.py", 9, 24, "tokens.current_token")))),
    ([TOKENS, summary("app/warm.py")],
     reached("app.tokens", REFRESH, chain(WARM_LOOP, ("app/warm.py", 11, 37, "tokens.start_refresh")),
             chain(WARM_LOOP, ("app/warm.py", 16, 44, "tokens.current_token")), verdict=CONFINED)),
]

# -- LCK207 -----------------------------------------------------------------------------------

CLIENT = Holder("client", "client", "motor.motor_asyncio.AsyncIOMotorClient", "global", 5, 9)
IMPORT_LOOP = loop("app.db.loop", "the event loop app.db runs at import (run_until_complete)", "app/db.py", 8, 1,
                   lifetime="kept", repeats=False)
DB = summary("app/db.py", {"asyncio": "asyncio", "AsyncIOMotorClient": "motor.motor_asyncio.AsyncIOMotorClient"}, [
    module_code(Reference("AsyncIOMotorClient", 5, 9), Reference("asyncio.new_event_loop", 7, 7),
                starts=[LoopStart("run_until_complete", "kept", "loop", (Reference("client.admin.command", 8, 24),), 8, 0)]),
], holders=[CLIENT])
LCK207 = [
    # As the reach sees it today: the server's loop only (the import-time loop runs a method of
    # the holder directly, which the rule reads from the start itself).
    ([DB, summary("app/api.py", {"client": "app.db.client"})],
     reached("app.db", CLIENT, chain(SERVER, ("app/api.py", 9, 18, "client.shop.orders.find_one")), verdict=CONFINED)),
    ([DB], reached("app.db", CLIENT, chain(IMPORT_LOOP, ("app/db.py", 8, 25, "client.admin.command")), verdict=CONFINED)),
]

# -- LCK406 -----------------------------------------------------------------------------------

HELPER = Function("always_get_an_event_loop", False, 4, 0, references=(
    Reference("asyncio.get_event_loop", 6, 15), Reference("asyncio.new_event_loop", 8, 15),
    Reference("asyncio.set_event_loop", 9, 8)))
UTILS = summary("app/utils.py", {"asyncio": "asyncio"}, [HELPER])
HTTP = Holder("http", "client", "httpx.AsyncClient", "global", 5, 7)
FETCH_SYNC = Function("fetch_sync", False, 12, 0, references=(
    Reference("utils.always_get_an_event_loop", 13, 11), Reference("loop.run_until_complete", 14, 11), Reference("fetch", 14, 35)),
    starts=(LoopStart("run_until_complete", "kept", "loop", (Reference("fetch", 14, 35),), 14, 11),))
CLIENT_MODULE = summary("app/client.py", {"httpx": "httpx", "utils": "app.utils"}, [
    module_code(Reference("httpx.AsyncClient", 5, 7)), Function("fetch", True, 8, 0), FETCH_SYNC], holders=[HTTP])
HELPER_LOOP = loop("app.client.fetch_sync", "run_until_complete in fetch_sync (the loop it is called on)", "app/client.py",
                   14, 12, lifetime="kept", repeats=False)
SAME_MODULE = summary("app/client.py", {"asyncio": "asyncio", "httpx": "httpx"}, [
    HELPER, Function("fetch", True, 18, 0),
    Function("fetch_sync", False, 22, 0, references=(Reference("always_get_an_event_loop", 23, 11),),
             starts=(LoopStart("run_until_complete", "kept", "loop", (Reference("fetch", 24, 35),), 24, 11),))],
    holders=[HTTP])
PER_CALL = summary("app/client.py", {"asyncio": "asyncio", "httpx": "httpx", "utils": "app.utils"}, [
    Function("fetch_sync", False, 14, 0, starts=(LoopStart("asyncio.run", "per-call", None, (Reference("fetch", 15, 23),), 15, 11),))],
    holders=[HTTP])
LCK406 = [
    ([UTILS, CLIENT_MODULE], reached("app.client", HTTP, chain(HELPER_LOOP, ("app/client.py", 14, 36, "client.fetch")))),
    ([SAME_MODULE], {}),
    ([UTILS, PER_CALL], {}),
]

# Each rule's examples, in order: (summaries, reach objects).
HAND_BUILT = {"LCK107": LCK107, "LCK207": LCK207, "LCK306": LCK306, "LCK307": LCK307, "LCK406": LCK406}


def model_and_reach(code: str, number: int) -> tuple[ProjectModel, HandReach]:
    summaries, objects = HAND_BUILT[code][number]
    return ProjectModel(summaries), HandReach(dict(objects))
