"""Worker processes that never outlive the process that started them.

Ingest validates big files in worker processes and runs Great Expectations in one of its
own. A ``ProcessPoolExecutor``'s workers wait for work on a queue they also hold the writing
end of, so when their parent is killed (SIGKILL, out of memory) nothing wakes them: they
stayed, holding a gigabyte between them. Each worker here watches its parent's sentinel (a
pipe the operating system closes when the parent dies, however it dies) and ends itself at
once. Workers are started with ``spawn``: forking a process that runs threads, as a Prefect
flow does, can deadlock.

This module stays light: every worker imports it first.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor


def pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that end when this process ends."""
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=end_with_parent
    )


def end_with_parent() -> None:
    """In a child process: exit as soon as the parent process has ended."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel closes: the parent is gone
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
