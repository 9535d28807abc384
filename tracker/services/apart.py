"""Work done in a child process of the server, away from ingestion's event loop.

A long computation in the server holds its event loop, and its SQLite reads share the interpreter's
lock with it: beacon calls wait meanwhile (a what-if or a calibration report on a site of 100,000
people took 20 s and more).  Such work runs in a child started with ``spawn`` (a fork would copy the
server's event loop, threads and connections), which opens the store itself, does the work, and exits.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Callable
from typing import Any

from tracker.store import Store, open_store

# How often the server looks whether the child has exited.
_POLL = 0.2


async def run_apart(target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> int:
    """Run ``target(*args)`` (a module-level function) in a child process; its exit code.

    If this is cancelled (the server stops, the request is given up), the child is stopped.
    """
    process = multiprocessing.get_context("spawn").Process(
        target=_interrupted_by_the_server, args=(target, args), name=name, daemon=True
    )
    process.start()
    try:
        while process.is_alive():
            await asyncio.sleep(_POLL)
    except BaseException:
        process.terminate()
        await asyncio.to_thread(process.join, 5)
        raise
    assert process.exitcode is not None
    return process.exitcode


def child_store(url: str, synchronous: str) -> Store:
    """The store a child opens: the server's store keeps PostgreSQL's tables up (and says so once), not
    each child's."""
    return open_store(url, sqlite_synchronous=synchronous, keep_up=False)


def _interrupted_by_the_server(target: Callable[..., None], args: tuple[Any, ...]) -> None:
    # Ctrl-C in the server's terminal reaches the whole process group: the server, stopping, ends the
    # child itself and records what it must, rather than the child dying first as if it had failed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    target(*args)
