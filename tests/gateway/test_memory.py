"""What a gateway process holds: the SDK (about a third of its resident memory at rest) stays out of a
process that only relays. Checked in a fresh interpreter, since this one has imported everything."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from subprocess import PIPE

import pytest

from .conftest import UPSTREAM_KEY

# A gateway on the emulator, one plain and one streamed request for a concrete model (nothing to
# classify, nothing to adapt: both only relay), asked with the standard library's client.
SCRIPT = """
import asyncio, http.client, json, sys
from urllib.parse import urlsplit

from claude_router.config import Settings
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway

upstream, ledger, key = sys.argv[1:4]
settings = Settings(
    upstream={"base_url": upstream, "api_key": key, "max_retries": 0},
    classifier={"kind": "local"},
    ledger={"url": ledger},
    gateway={"auth": False},
)

def ask(url, stream):
    body = {"model": "claude-haiku-4-5", "max_tokens": 16, "stream": stream,
            "messages": [{"role": "user", "content": "Say hi."}]}
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    conn.request("POST", "/v1/messages", json.dumps(body), {"content-type": "application/json"})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return answer.status

async def main():
    async with running_gateway(create_app(settings)) as url:
        statuses = [await asyncio.to_thread(ask, url, stream) for stream in (False, True)]
    print(json.dumps({"statuses": statuses, "sdk": "anthropic" in sys.modules}))

asyncio.run(main())
"""


@pytest.mark.slow
async def test_a_gateway_that_only_relays_never_imports_the_sdk(emulator_url: str, tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger.db")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, emulator_url, ledger, UPSTREAM_KEY, stdout=PIPE, stderr=PIPE
    )  # the emulator answers from this test's event loop: it must not be blocked
    stdout, stderr = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 0, stderr.decode()[-2000:]
    outcome = json.loads(stdout.decode().splitlines()[-1])
    assert outcome["statuses"] == [200, 200]
    assert not outcome["sdk"], "the gateway imported `anthropic` to relay two requests"
