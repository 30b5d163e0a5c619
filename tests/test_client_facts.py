"""The catalogue's errors (data/clients.toml) of the HTTP API clients built on httpx, checked
against their real libraries on every supported interpreter found on the machine (installed from
the registry as the runtime tests install theirs, tests/runtime_deps.py) and the local JSON API
(tests/servers.py): one module-level client, a request under a first asyncio.run(), then one under
a second. openai 3 (on httpx2) raises "Event loop is closed"; openai 1 and 2 and anthropic wrap it
in APIConnectionError("Connection error.") and retry on a new connection, which works while
`max_retries` allows one: what the catalogue's `error` and `error-note` say."""

from __future__ import annotations

import pytest

from loopcheck.data.catalogue import Catalogue
from tests import servers
from tests.test_confinement_facts import run

OPENAI = ("openai>=3",)
OPENAI_ON_HTTPX = ("openai>=1,<3",)
ANTHROPIC = ("anthropic>=0.40",)

SCRIPT = """
import asyncio
import importlib
import sys

library, url, retries = sys.argv[1], sys.argv[2], int(sys.argv[3])
if library == "openai":
    from openai import AsyncOpenAI as Client
else:
    from anthropic import AsyncAnthropic as Client
client = Client(base_url=url, api_key="test", max_retries=retries)
# httpx or httpx2: the module of the client's HTTP client class, or of the one it derives from
base = next(c for c in type(client._client).__mro__ if c.__module__.startswith("httpx"))
http = importlib.import_module(base.__module__.partition(".")[0])


async def request():
    response = await client.get("/v1/models", cast_to=http.Response)
    return response.status_code


def outcome():
    try:
        return f"status {asyncio.run(request())}"
    except Exception as error:
        chain = []
        while error is not None:
            chain.append(f"{type(error).__name__}: {error}")
            error = error.__cause__ or error.__context__
        return " <- ".join(dict.fromkeys(chain))


print(outcome())
print(outcome())
"""


@pytest.fixture(scope="module")
def http_url():
    with servers.http_api() as url:
        yield url


def second_run(python: str, requirements: tuple[str, ...], library: str, url: str, retries: int) -> str:
    first, second = run(python, requirements, ["-c", SCRIPT, library, url, str(retries)])
    assert first == "status 200"
    return second


def client(constructor: str):
    (found,) = Catalogue.load().clients[constructor]
    return found


@pytest.mark.parametrize("retries", [0, 2])
def test_openai_on_httpx2_fails_with_the_catalogued_error_retries_or_not(python, http_url, retries):
    assert second_run(python, OPENAI, "openai", http_url, retries) == f"RuntimeError: {client('openai.AsyncOpenAI').error}"


def test_openai_on_httpx_wraps_the_error_and_retries_as_the_catalogue_notes(python, http_url):
    note = client("openai.AsyncOpenAI").error_note
    assert note.startswith("with openai 1 and 2 that is the first attempt's cause, raised as 'Connection error.'")
    failed = second_run(python, OPENAI_ON_HTTPX, "openai", http_url, 0)
    assert failed == "APIConnectionError: Connection error. <- RuntimeError: Event loop is closed"
    assert second_run(python, OPENAI_ON_HTTPX, "openai", http_url, 2) == "status 200"


def test_anthropic_fails_with_the_catalogued_error_and_retries_as_it_notes(python, http_url):
    anthropic = client("anthropic.AsyncAnthropic")
    assert anthropic.error_note.startswith("the first attempt's error, raised from 'Event loop is closed'")
    failed = second_run(python, ANTHROPIC, "anthropic", http_url, 0)
    assert failed == f"APIConnectionError: {anthropic.error} <- RuntimeError: Event loop is closed"
    assert second_run(python, ANTHROPIC, "anthropic", http_url, 2) == "status 200"
