"""The catalogue's ``confined-by`` facts (data/clients.toml), checked against the real library on
every supported interpreter found on the machine, installed from the registry as the runtime
tests install theirs (tests/runtime_deps.py)."""

from __future__ import annotations

import os
import subprocess

from loopcheck.data.catalogue import Catalogue
from tests.helpers import interpreters
from tests.runtime_deps import deps_dir

MOTOR = ("motor>=3.3",)

# Motor runs each operation with run_in_executor on the loop get_io_loop() returns; the default
# keeps the first loop it looked up. start_session() reaches that executor without a server.
MOTOR_SCRIPT = """
import asyncio

from motor.motor_asyncio import AsyncIOMotorClient


async def use(client):
    session = await client.start_session()
    await session.end_session()


def second_run(client):
    try:
        for _ in range(2):
            asyncio.run(use(client))
    except RuntimeError as error:
        return str(error)
    finally:
        client.close()
    return "clean"


def client():
    return AsyncIOMotorClient("mongodb://127.0.0.1:1", connect=False, serverSelectionTimeoutMS=100)


overridden = client()
overridden.{attribute} = {value}
print(second_run(client()))
print(second_run(overridden))
"""


def test_motor_with_its_loop_lookup_set_to_the_running_loop_serves_every_loop(python):
    (confinement,) = Catalogue.load().clients["motor.motor_asyncio.AsyncIOMotorClient"][0].confined_by
    (value,) = confinement.values
    version = next(v for v, p in interpreters().items() if p == python)
    script = MOTOR_SCRIPT.format(attribute=confinement.attribute, value=value)
    completed = subprocess.run(
        [python, "-X", "dev", "-W", "error::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(deps_dir(python, version, MOTOR))},
    )
    assert completed.returncode == 0, completed.stderr
    # the default client fails under the second loop; the confined one does not
    assert completed.stdout.splitlines() == ["Event loop is closed", "clean"], completed.stdout
