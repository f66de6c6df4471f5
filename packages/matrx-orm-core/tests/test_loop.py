"""The ORM-owned background loop behind every ``*_sync`` twin (matrx_orm_core._loop)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

from matrx_orm_core import _loop
from matrx_orm_core.exceptions import SyncContextError


@pytest.fixture(autouse=True)
def _fresh_loop() -> Iterator[None]:
    _loop.shutdown()
    yield
    _loop.shutdown()


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == _loop.THREAD_NAME]


async def _where() -> tuple[str, asyncio.AbstractEventLoop]:
    await asyncio.sleep(0)
    return threading.current_thread().name, asyncio.get_running_loop()


def test_run_sync_twice_reuses_one_daemon_loop_thread() -> None:
    first_thread, first_loop = _loop.run_sync(_where, name="get")
    second_thread, second_loop = _loop.run_sync(_where, name="get")

    assert first_thread == "matrx-orm-sync"
    assert second_thread == "matrx-orm-sync"
    assert first_loop is second_loop
    threads = _loop_threads()
    assert len(threads) == 1
    assert threads[0].daemon is True
    assert _loop.is_running() is True


def test_run_sync_returns_the_coroutine_value() -> None:
    async def answer() -> dict[str, int]:
        return {"rows": 3}

    assert _loop.run_sync(answer, name="count") == {"rows": 3}


def test_run_sync_from_four_threads_at_once_shares_one_loop() -> None:
    barrier = threading.Barrier(4)
    results: dict[int, tuple[int, asyncio.AbstractEventLoop]] = {}
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        async def job() -> tuple[int, asyncio.AbstractEventLoop]:
            await asyncio.sleep(0.05)
            return index * 10, asyncio.get_running_loop()

        try:
            barrier.wait()
            results[index] = _loop.run_sync(job, name="filter")
        except BaseException as err:
            errors.append(err)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(10)

    assert errors == []
    assert sorted(value for value, _ in results.values()) == [0, 10, 20, 30]
    assert len({id(loop) for _, loop in results.values()}) == 1
    assert len(_loop_threads()) == 1


async def test_run_sync_inside_a_running_loop_raises_and_says_use_await() -> None:
    called = False

    async def never() -> None:
        nonlocal called
        called = True

    message = "get_sync() called in an async context. Use await get() instead."
    with pytest.raises(SyncContextError, match=re.escape(message)) as excinfo:
        _loop.run_sync(never, name="get")

    assert isinstance(excinfo.value, RuntimeError)
    assert called is False
    assert _loop_threads() == []  # nothing was started


def test_exception_from_the_coroutine_is_the_same_object() -> None:
    error = ValueError("bad value for field 'age'")

    async def fail() -> None:
        raise error

    with pytest.raises(ValueError, match="bad value") as excinfo:
        _loop.run_sync(fail, name="get")

    assert excinfo.value is error


def test_loop_keeps_working_after_a_failed_call() -> None:
    async def fail() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        _loop.run_sync(fail, name="get")
    assert _loop.run_sync(_where, name="get")[0] == "matrx-orm-sync"


def test_shutdown_stops_and_closes_the_loop_then_run_sync_restarts_it() -> None:
    _, old_loop = _loop.run_sync(_where, name="get")
    (old_thread,) = _loop_threads()

    _loop.shutdown()

    assert old_loop.is_closed() is True
    assert old_thread.is_alive() is False
    assert _loop.is_running() is False
    assert _loop_threads() == []

    thread_name, new_loop = _loop.run_sync(_where, name="get")
    assert thread_name == "matrx-orm-sync"
    assert new_loop is not old_loop
    assert new_loop.is_closed() is False


def test_shutdown_is_idempotent_and_a_no_op_before_start() -> None:
    _loop.shutdown()
    _loop.shutdown()
    assert _loop.is_running() is False
    _loop.run_sync(_where, name="get")
    _loop.shutdown()
    _loop.shutdown()
    assert _loop_threads() == []


def test_shutdown_cancels_pending_tasks_on_the_loop() -> None:
    cancelled = threading.Event()

    async def start_background_task() -> None:
        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)

    _loop.run_sync(start_background_task, name="start")
    _loop.shutdown()

    assert cancelled.is_set()


def test_shutdown_from_the_loop_thread_raises() -> None:
    async def call_shutdown() -> None:
        _loop.shutdown()

    # run_sync's own check does not fire: shutdown() is a plain call made inside the coroutine.
    with pytest.raises(SyncContextError, match="matrx-orm-sync loop thread"):
        _loop.run_sync(call_shutdown, name="shutdown")
    assert _loop.run_sync(_where, name="get")[0] == "matrx-orm-sync"


def _run_script(source: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_script_calling_run_sync_twice_exits_cleanly_with_no_warning() -> None:
    script = """
        import asyncio
        from matrx_orm_core import _loop

        async def work(n):
            await asyncio.sleep(0.01)
            return n * 2

        assert _loop.run_sync(lambda: work(1), name="get") == 2
        assert _loop.run_sync(lambda: work(2), name="get") == 4
        print("done")
    """
    result = _run_script(script, "-X", "dev", "-W", "error::ResourceWarning", "-W", "error")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert result.stderr == ""


def test_keyboard_interrupt_in_the_caller_cancels_the_coroutine() -> None:
    script = """
        import asyncio, os, signal, threading, time
        from matrx_orm_core import _loop

        started = threading.Event()
        cancelled = threading.Event()

        async def slow():
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        def interrupt():
            started.wait(10)
            time.sleep(0.2)  # the main thread is now blocked waiting for the result
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        began = time.monotonic()
        try:
            _loop.run_sync(slow, name="get")
        except KeyboardInterrupt:
            print("interrupted")
        print("cancelled" if cancelled.wait(5) else "still running")
        print("fast" if time.monotonic() - began < 10 else "slow")
    """
    result = _run_script(script, "-X", "dev", "-W", "error::ResourceWarning")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["interrupted", "cancelled", "fast"]
    assert result.stderr == ""


def test_atexit_shutdown_closes_the_loop_when_the_script_ends() -> None:
    script = """
        import asyncio, atexit
        from matrx_orm_core import _loop

        seen = {}

        async def grab():
            seen["loop"] = asyncio.get_running_loop()

        _loop.run_sync(grab, name="get")

        def report():  # registered before _loop's hook runs, so atexit calls it after
            print("closed" if seen["loop"].is_closed() else "open")

        atexit.register(report)
        atexit.unregister(_loop.shutdown)
        atexit.register(_loop.shutdown)  # runs first (LIFO), as at a real exit
    """
    result = _run_script(script, "-X", "dev", "-W", "error::ResourceWarning")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "closed\n"
    assert result.stderr == ""
