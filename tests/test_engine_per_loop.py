"""A SQLAlchemy async engine whose call rules `poolclass=NullPool` out (its pool's options, its own
pool class) gets the per-loop engine instead, as SQLAlchemy advises for an engine several loops
would share ("Using multiple asyncio event loops"): one engine per running loop, disposed when
that loop ends, so pooling stays within each loop. Where a session factory made at import keeps
the engine (`async_sessionmaker(engine)`), the name stays, as a proxy to the running loop's
engine, which the factory follows; any other read at import rules the fix out, and so does an
engine given a pool object (`pool=`), which every loop's engine would share. A synchronous engine
is not reported. tests/fixtures/projects/engine_pool_options_per_task runs the fixed program."""

from __future__ import annotations

import json

import libcst as cst
import pytest

from loopcheck.data.catalogue import Catalogue, CatalogueError, _argument_name, names_list
from loopcheck.fixes.per_loop_client import unfixable
from loopcheck.rules.wording import NO_LOOP_THERE
from tests.helpers import check_text, fix_text, run_loopcheck
from tests.test_argument_fix import IMPORT, findings, linter

ENGINE = "sqlalchemy.ext.asyncio.create_async_engine"
FACTORIES = {
    "async_sessionmaker": (
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n",
        "Session = async_sessionmaker({name}, expire_on_commit=False)\n",
    ),
    "sessionmaker with AsyncSession": (
        "from sqlalchemy.ext.asyncio import AsyncSession\nfrom sqlalchemy.orm import sessionmaker\n",
        "Session = sessionmaker(bind={name}, class_=AsyncSession)\n",
    ),
}
USE = (
    "\n\nasync def count():\n    async with {name}.connect() as connection:\n"
    "        return await connection.scalar(QUERY)\n"
)


def module(name: str = "_engine", options: str = "pool_size=5", factory: str = "async_sessionmaker") -> str:
    imports, made = FACTORIES[factory]
    return (
        f"{IMPORT}{imports}\n{name} = create_async_engine(URL, {options})\n{made.format(name=name)}"
        f"{USE.format(name=name)}"
    )


def fixed(source: str) -> str:
    outcome = fix_text(linter(), source, "app.py", unsafe=True)
    assert not check_text(linter(), outcome.source, "app.py"), "the fixed engine is still reported"
    return outcome.source


@pytest.mark.parametrize("factory", sorted(FACTORIES))
def test_pool_options_get_the_per_loop_engine_which_a_session_factory_follows(factory):
    source = module(factory=factory)
    ((code, said, title),) = findings(source)
    assert (code, said) == ("LCK301", "")
    follower = FACTORIES[factory][1].partition("(")[0].partition("= ")[2]
    assert title.startswith("Create one client per event loop with `_get_engine()`, closed when its loop ends")
    assert f"keep `_engine` as a proxy to it, which `{follower}(_engine)` follows" in title
    after = fixed(source)
    assert "client = create_async_engine(URL, pool_size=5)" in after  # the pool's options kept
    # when its loop ends; once closed by hand, its connections are left alone (closing them
    # would fail, and SQLAlchemy would log it)
    assert "await client.dispose(close=not loop.is_closed())" in after
    assert "_engine = _EnginePerLoop()" in after
    assert FACTORIES[factory][1].format(name="_engine") in after  # the factory is left as it is
    assert after.index("_engine = _EnginePerLoop()") < after.index("Session = ")
    assert "async with _get_engine().connect() as connection:" in after


def test_its_own_pool_class_gets_the_per_loop_engine_too():
    # A pool class is made into a pool by each engine: every loop's engine has its own.
    ((_, said, title),) = findings(module(options="poolclass=AsyncAdaptedQueuePool"))
    assert said == "" and title.startswith("Create one client per event loop")


def test_a_pool_object_every_loop_would_share_rules_the_fix_out():
    ((_, said, title),) = findings(module(options="pool=POOL"))
    assert title is None
    assert said == (
        "it is made with `pool=POOL`, which configures what `poolclass=NullPool` would replace, and it "
        "cannot be made per event loop: it is made with `pool=POOL`, which every event loop's "
        "sqlalchemy.ext.asyncio.AsyncEngine would share"
    )
    (client,) = Catalogue.load().clients[ENGINE]
    made = cst.parse_expression("create_async_engine(URL, pool_size=5, pool=POOL)")
    reason = unfixable(client, made).reason
    assert reason == (
        "it is made with `pool=POOL`, which every event loop's sqlalchemy.ext.asyncio.AsyncEngine would share"
    )
    assert unfixable(client, cst.parse_expression("create_async_engine(URL, pool_size=5)")) is None


def test_a_read_at_import_that_no_session_factory_keeps_rules_the_fix_out():
    source = module() + "\nDIALECT = _engine.dialect\n"
    ((_, said, title),) = findings(source)
    assert title is None and said.endswith(f", and it cannot be made per event loop: {NO_LOOP_THERE}")


def test_without_a_session_factory_the_engine_is_made_per_loop_without_a_proxy():
    source = f"{IMPORT}\n_engine = create_async_engine(URL, pool_size=5)\n{USE.format(name='_engine')}"
    ((_, said, title),) = findings(source)
    assert title == "Create one client per event loop with `_get_engine()`, closed when its loop ends"
    assert "PerLoop" not in fixed(source)


def test_a_synchronous_engine_with_pool_options_is_not_reported():
    source = (
        "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n"
        "engine = create_engine(URL, pool_size=5)\nSession = sessionmaker(engine)\n"
    )
    assert findings(source) == []


# -- a public engine, with the project model ---------------------------------------------------------

TASKS = "import asyncio\n\nfrom app import reports\n\n\ndef order_report():\n    return asyncio.run(reports.count())\n"
REPORTS = (
    "from app.db import Session\n\n\nasync def count():\n    async with Session() as session:\n"
    "        return await session.scalar(QUERY)\n"
)


def project(tmp_path, db: str):
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "db.py").write_text(db)
    (root / "app" / "reports.py").write_text(REPORTS)
    (root / "app" / "tasks.py").write_text(TASKS)
    return root


def test_a_public_engine_the_model_sees_gets_the_proxy_and_its_importers_stay(tmp_path):
    db = (
        f"{IMPORT}from sqlalchemy.ext.asyncio import async_sessionmaker\n\n"
        "engine = create_async_engine(URL, pool_size=5)\nSession = async_sessionmaker(engine)\n"
    )
    root = project(tmp_path, db)
    without_model = findings(db)
    assert [said for _, said, _ in without_model] == [
        "`engine` is public; modules importing it would need changing too"
    ]
    found = json.loads(run_loopcheck("--output-format", "json", ".", cwd=root, text=True).stdout)
    (engine,) = [d for d in found if d["code"] == "LCK301"]
    assert "keep `engine` as a proxy to it, which `async_sessionmaker(engine)` follows" in engine["fix"]["message"]
    assert run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root).returncode == 0
    after = (root / "app" / "db.py").read_text()
    assert "engine = _EnginePerLoop()" in after and "def get_engine():" in after
    assert after.endswith("Session = async_sessionmaker(engine)\n")
    assert (root / "app" / "reports.py").read_text() == REPORTS


# -- the catalogue -----------------------------------------------------------------------------------


def test_the_catalogue_says_what_keeps_the_engine_and_what_it_would_share():
    (client,) = Catalogue.load().clients[ENGINE]
    assert "sqlalchemy.ext.asyncio.async_sessionmaker" in client.kept_by
    assert client.shared_arguments == ("pool",)


@pytest.mark.parametrize(
    ("entry", "qualified"),
    [
        ("sqlalchemy.ext.asyncio.async_sessionmaker", False),  # not a list
        (["async_sessionmaker"], True),
        (["a..b"], True),
        ([1], False),
        (["pool size"], False),
        (["sqlalchemy.pool"], False),
    ],
)
def test_a_wrong_list_of_names_is_refused_when_the_catalogue_loads(entry, qualified):
    with pytest.raises(CatalogueError, match=r"^clients.toml: \[x\] kept-by: must be a list of"):
        names_list(entry, "clients.toml: [x] kept-by", qualified=qualified)


def test_a_right_list_of_names_is_read():
    assert names_list(["sqlalchemy.orm.sessionmaker"], "s", qualified=True) == ("sqlalchemy.orm.sessionmaker",)
    assert names_list(["pool"], "s") == ("pool",)


@pytest.mark.parametrize(
    "made_elsewhere",
    [
        "\nsession = Session()\n",  # at import: no loop runs
        "\n\ndef make():\n    return Session()\n",  # a plain function, maybe with no loop running
        "\nFACTORIES = [Session]\n",  # handed on at import
    ],
)
def test_a_session_factory_used_outside_coroutines_rules_the_fix_out(made_elsewhere):
    ((_, said, title),) = findings(module() + made_elsewhere)
    assert title is None and said.endswith(NO_LOOP_THERE)


ALIASES = "\nasync_session: Callable[[], AsyncSession] = Session\nnew_session = async_session\n"


def test_a_session_factory_under_another_name_coroutines_use_follows_the_proxy():
    """(The shape of ``async_session = async_session_factory`` in ethyca/fides.)"""
    use = "\n\nasync def open_one():\n    async with new_session() as session:\n        return session\n"
    source = module() + ALIASES + use
    ((_, said, title),) = findings(source)
    assert said == "" and "keep `_engine` as a proxy to it, which `async_sessionmaker(_engine)` follows" in title
    assert ALIASES in fixed(source)


@pytest.mark.parametrize(
    "made_elsewhere",
    [
        "\nsession = new_session()\n",  # at import, through the last name
        "\n\ndef make():\n    return async_session()\n",  # a plain function
        "\nthird = new_session\nfourth = third\nfifth = fourth\n\nasync def f():\n    return fifth()\n",  # too many names
    ],
)
def test_a_session_factory_another_name_of_which_is_used_outside_coroutines_rules_the_fix_out(made_elsewhere):
    ((_, said, title),) = findings(module() + ALIASES + made_elsewhere)
    assert title is None and said.endswith(NO_LOOP_THERE)


def test_a_session_factory_made_in_a_function_is_not_followed():
    source = module().replace("Session = async_sessionmaker(_engine, expire_on_commit=False)\n", "") + (
        "\n\ndef sessions():\n    return async_sessionmaker(_engine)\n"
    )
    ((_, said, title),) = findings(source)
    assert title is None and said.endswith(NO_LOOP_THERE)


def test_only_a_client_whose_close_can_leave_its_connections_alone_is_told_to():
    catalogue = Catalogue.load()
    (engine,) = catalogue.clients[ENGINE]
    (redis,) = catalogue.clients["redis.asyncio.from_url"]
    assert engine.close_statement("client", "loop") == "await client.dispose(close=not loop.is_closed())"
    assert engine.close_statement("client") == "await client.dispose()"
    assert redis.close_statement("client", "loop") == "await client.aclose()"


@pytest.mark.parametrize("wrong", [["close"], "close=False", 1])
def test_a_wrong_close_connections_argument_is_refused(wrong):
    with pytest.raises(CatalogueError, match=r"^s: must be an argument's name$"):
        _argument_name(wrong, "s")
    assert _argument_name("close", "s") == "close" and _argument_name(None, "s") is None
