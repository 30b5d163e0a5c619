"""The library's own fix of a shared async client (the catalogue's ``argument-fix``): a SQLAlchemy
async engine is made with ``poolclass=NullPool`` wherever the LCK3xx rules find it kept, laid out
as the call is, with the import the module lacks; it is declined, saying why, where the call
chooses its pool or an option NullPool refuses, unpacks its options, or names a SQLite URL; and
an engine made with NullPool is not reported. The catalogue refuses an argument-fix that would
leave the fixed client reported."""

from __future__ import annotations

import textwrap

import pytest

from loopcheck.data.catalogue import Catalogue, CatalogueError, argument_fix, tomllib
from loopcheck.engine.diagnostics import Safety
from loopcheck.engine.engine import Linter
from loopcheck.rules import all_rules
from tests.helpers import check_text, fix_text

ENGINE = "sqlalchemy.ext.asyncio.create_async_engine"
IMPORT = "from sqlalchemy.ext.asyncio import create_async_engine\n"
TITLE = "Add `poolclass=NullPool`: each checkout opens a new connection; no pooling"


def linter() -> Linter:
    return Linter(list(all_rules().values()), target_version=(3, 10), candidate_stage=False)


def findings(source: str) -> list[tuple[str, str, str | None]]:
    """(code, the message's reason for no fix or "", the fix's title) of each finding."""
    found = []
    for d in check_text(linter(), textwrap.dedent(source), "app.py"):
        reason = d.message.partition("; no fix: ")[2]
        found.append((d.code, reason, d.fix.description if d.fix else None))
    return found


def fixed(source: str) -> str:
    outcome = fix_text(linter(), textwrap.dedent(source), "app.py", unsafe=True)
    assert not check_text(linter(), outcome.source, "app.py"), "a fixed engine is still reported"
    return outcome.source


def test_a_public_module_level_engine_gets_null_pool_and_keeps_its_name():
    source = IMPORT + 'engine = create_async_engine("postgresql+asyncpg://app@db/app")\n'
    (finding,) = check_text(linter(), source, "app.py")
    assert (finding.code, finding.fix.description, finding.fix.safety) == ("LCK301", TITLE, Safety.UNSAFE)
    assert fixed(source) == (
        IMPORT + "from sqlalchemy.pool import NullPool\n"
        'engine = create_async_engine("postgresql+asyncpg://app@db/app", poolclass=NullPool)\n'
    )


@pytest.mark.parametrize(
    ("call", "after"),
    [
        # one argument a line, with a trailing comma
        (
            "create_async_engine(\n    URL,\n    echo=True,\n)",
            "create_async_engine(\n    URL,\n    echo=True,\n    poolclass=NullPool,\n)",
        ),
        # one a line, without
        ("create_async_engine(\n    URL\n)", "create_async_engine(\n    URL,\n    poolclass=NullPool\n)"),
        # the URL as a keyword, on one line
        ("create_async_engine(url=URL, echo=True)", "create_async_engine(url=URL, echo=True, poolclass=NullPool)"),
    ],
)
def test_the_argument_is_laid_out_as_the_call_is(call, after):
    source = f'{IMPORT}URL = "postgresql+asyncpg://app@db/app"\nengine = {call}\n'
    assert fixed(source).endswith(f"engine = {after}\n")


def test_an_engine_made_inside_the_session_factory_call_is_fixed_in_place():
    source = (
        "from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n"
        "Session = async_sessionmaker(create_async_engine(URL), expire_on_commit=False)\n"
    )
    assert findings(source) == [("LCK301", "", TITLE)]
    assert fixed(source).endswith(
        "Session = async_sessionmaker(create_async_engine(URL, poolclass=NullPool), expire_on_commit=False)\n"
    )


def test_an_import_the_module_has_of_null_pool_is_used():
    source = IMPORT + "from sqlalchemy import NullPool as NP\nengine = create_async_engine(URL)\n"
    assert fixed(source).endswith("engine = create_async_engine(URL, poolclass=NP)\n")
    assert fixed(source).count("import") == 2


@pytest.mark.parametrize(
    ("kept", "code"),
    [
        ("class Store:\n    engine = create_async_engine(URL)\n", "LCK302"),
        ("@functools.lru_cache\ndef get_engine():\n    return create_async_engine(URL)\n", "LCK303"),
        ("class Db:\n    def __init__(self):\n        self.engine = create_async_engine(URL)\n\n\ndb = Db()\n", "LCK305"),
    ],
)
def test_an_engine_kept_elsewhere_gets_the_same_fix(kept, code):
    source = f"import functools\n{IMPORT}\n{kept}"
    assert findings(source) == [(code, "", TITLE)]
    assert "create_async_engine(URL, poolclass=NullPool)" in fixed(source)


DECLINED = [
    ("URL, poolclass=AsyncAdaptedQueuePool", "it is made with `poolclass=AsyncAdaptedQueuePool`, which configures"),
    ("URL, pool=POOL", "it is made with `pool=POOL`, which configures what `poolclass=NullPool` would replace"),
    ("URL, pool_size=20, max_overflow=0", "it is made with `pool_size=20`, which configures what `poolclass=NullPool`"),
    ("URL, pool_timeout=5", "it is made with `pool_timeout=5`, which configures"),
    ("URL, **OPTIONS", "its keyword arguments come from `**OPTIONS`, which may set `poolclass`"),
    ('"sqlite+aiosqlite:///:memory:"', "SQLite's connections are not bound to an event loop"),
    ('url=f"sqlite+aiosqlite:///{URL}"', "SQLite's connections are not bound to an event loop"),
]


@pytest.mark.parametrize(("arguments", "reason"), DECLINED, ids=[r[:40] for _, r in DECLINED])
def test_the_fix_is_declined_with_its_reason_where_the_call_rules_it_out(arguments, reason):
    ((code, said, fix),) = findings(f"{IMPORT}engine = create_async_engine({arguments})\n")
    assert (code, fix) == ("LCK301", None)
    assert said.startswith(reason), said


def test_a_private_engine_the_fix_rules_out_gets_the_per_loop_accessor():
    source = IMPORT + "_engine = create_async_engine(URL, pool_size=20)\n\n\nasync def use():\n    return _engine.connect()\n"
    ((_, said, fix),) = findings(source)
    assert said == "" and fix.startswith("Create one client per event loop")


def test_a_module_that_names_something_else_null_pool_gets_no_fix():
    ((_, said, fix),) = findings(f"{IMPORT}NullPool = None\nengine = create_async_engine(URL)\n")
    assert fix is None and said.startswith("`NullPool` names something else in this module")


@pytest.mark.parametrize(
    "made",
    [
        "from sqlalchemy.pool import NullPool\nengine = create_async_engine(URL, poolclass=NullPool)\n",
        "import sqlalchemy\nengine = create_async_engine(URL, echo=True, poolclass=sqlalchemy.NullPool)\n",
        "import sqlalchemy.pool as pools\nengine = create_async_engine(URL, poolclass=pools.NullPool)\n",
    ],
)
def test_an_engine_made_with_null_pool_is_not_reported(made):
    assert findings(IMPORT + made) == []


def test_a_pool_class_of_another_library_is_not_null_pool():
    made = "from mypools import NullPool\nengine = create_async_engine(URL, poolclass=NullPool)\n"
    assert [code for code, _, _ in findings(IMPORT + made)] == ["LCK301"]


# -- the catalogue --------------------------------------------------------------------------------


def test_the_catalogue_fixes_the_async_engine_with_null_pool():
    (client,) = Catalogue.load().clients[ENGINE]
    fix = client.argument_fix
    assert (fix.argument, fix.value) == ("poolclass", "sqlalchemy.pool.NullPool")
    assert {"pool_size", "max_overflow", "poolclass"} <= fix.declined_by and fix.declined_urls == {"sqlite"}


GOOD = 'argument = "poolclass"\nvalue = "sqlalchemy.pool.NullPool"\ntitle = "t"\n'
BAD_FIXES = [
    ('argument = "poolclass"\ntitle = "t"\n', "f: no key 'value'"),
    (GOOD + "declined = []\n", "f: unknown key 'declined'"),
    (GOOD.replace('"poolclass"', '"pool"'), "f: pool=sqlalchemy.pool.NullPool is none of the client's confined-by"),
    (GOOD.replace("sqlalchemy.pool.NullPool", "sqlalchemy.pool.StaticPool"), "f: poolclass=sqlalchemy.pool.StaticPool is none"),
    (GOOD + 'declined-urls = ["sqlite"]\n', "f: 'declined-urls' and 'url-why' go together"),
    (GOOD + "declined-by = 1\n", "f: key 'declined-by' must be a list of strings"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FIXES, ids=[m for _, m in BAD_FIXES])
def test_a_wrong_argument_fix_is_refused_when_the_catalogue_loads(text, message):
    (client,) = Catalogue.load().clients[ENGINE]
    with pytest.raises(CatalogueError) as raised:
        argument_fix(tomllib.loads(text), client, "f")
    assert str(raised.value).startswith(message), str(raised.value)


def test_an_argument_fix_is_refused_for_a_client_made_through_a_method():
    (client,) = [c for clients in Catalogue.load().clients.values() for c in clients if c.through][:1]
    with pytest.raises(CatalogueError, match="not by a call it could add to"):
        argument_fix(tomllib.loads(GOOD), client, "f")


def test_a_client_rule_offers_the_library_fix_only_where_its_page_documents_fixes():
    source = (
        f"{IMPORT}from celery.signals import worker_process_init\n\nengine = None\n\n\n"
        "@worker_process_init.connect\ndef init_worker(**kwargs):\n"
        "    global engine\n    engine = create_async_engine(URL)\n"
    )
    reported = check_text(linter(), source, "app.py")
    assert [d.code for d in reported] == ["LCK304"]
    kinds = {rule.code: rule.fix_kind for rule in all_rules().values()}
    assert all((d.fix is None) == (kinds[d.code] == "none") for d in reported)
