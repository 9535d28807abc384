"""Work a request starts and the process carries on after answering (a rescore job, a what-if run),
stopped with it.

A job left unfinished by a stop records where it was (``services.rescore`` marks itself
interrupted when cancelled, so the next start resumes it; a what-if run is marked interrupted,
so the next visit to its page starts it anew).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("tracker.background")


class Background:
    def __init__(self) -> None:
        # Held here: the event loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, job: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background job %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        """Cancel every job and wait until each has recorded where it stopped."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
