"""Process B of test_cache_coherence: caches one row and reports what its get() returns.

Driven over stdin/stdout, one JSON object per line. Commands:
``{"op": "wait", "value": v}``: poll ``get()`` until it returns ``value``; reply with the
monotonic time it was first seen (``time.monotonic`` is system-wide on Linux and macOS, so A can
compare it with its commit times). ``{"op": "get"}``: one ``get()``; reply with the value, and
whether the listener was subscribed and the read was a cache hit. ``{"op": "quit"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from matrx_orm import DatabaseProjectConfig, IntegerField, Model, register_database
from matrx_orm.state import StateManager

DB = os.environ["CACHE_PEER_DB"]
register_database(DatabaseProjectConfig.from_url(DB, os.environ["CACHE_PEER_URL"]))


class CcRow(Model):
    id = IntegerField(primary_key=True)
    value = IntegerField()

    _table_name = "cc_row"
    _database = DB


def reply(**data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    hook = StateManager.cache_hook()
    assert await StateManager.wait_until_live(DB, timeout=10)
    await CcRow.get(id=1)
    reply(ready=True)
    state = StateManager.state(CcRow)
    while True:
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        if command["op"] == "quit":
            break
        if command["op"] == "wait":
            target = command["value"]
            deadline = time.monotonic() + 5
            while True:
                row = await CcRow.get(id=1)
                if row.value == target:
                    reply(seen=time.monotonic())
                    break
                if time.monotonic() > deadline:
                    reply(seen=None, last=row.value)
                    break
                await asyncio.sleep(0.0002)
        elif command["op"] == "pid":
            current = hook.coherence.listeners.get(DB)
            live = await StateManager.wait_until_live(DB, timeout=5)
            reply(pid=current.backend_pid if live and current is not None else None)
        elif command["op"] == "get":
            current = hook.coherence.listeners.get(DB)
            live = current is not None and current.usable()
            hits = state.hits
            row = await CcRow.get(id=1)
            reply(
                value=row.value,
                live_before=live,
                hit=state.hits > hits,
                subscriptions=0 if current is None else current.subscriptions,
            )
    await StateManager.stop_listeners()
    from matrx_orm.core.async_db_manager import AsyncDatabaseManager

    await AsyncDatabaseManager.close_all_pools()


asyncio.run(main())
