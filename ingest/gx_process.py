"""The process Great Expectations runs in (what crosses into it: ``ingest.gx_batch``).

Importing Great Expectations takes several seconds (it pulls in scipy and much more). It runs
in a process of its own, started as early as a command knows it will ingest: the import then
happens on another core while Prefect starts and the file is read. This module stays light
(nothing heavy is imported here) so that starting the process early costs nothing.
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest import child_processes
from ingest.gx_batch import BatchInput, BatchVerdict

_executor: ProcessPoolExecutor | None = None


def start() -> None:
    """Start the Great Expectations process (once), which imports it straight away."""
    global _executor  # noqa: PLW0603 (one such process per process)
    if _executor is None:
        _executor = child_processes.pool(1)
        _executor.submit(_prepare)


def run(batch: BatchInput) -> BatchVerdict:
    """Run the file's suite in the Great Expectations process."""
    global _executor  # noqa: PLW0603
    start()
    assert _executor is not None
    future: Future[BatchVerdict] = _executor.submit(_run_suite, batch)
    try:
        return future.result()
    except BrokenProcessPool:  # the process died (killed, out of memory): start anew next time
        _executor = None
        raise


# Deferred on purpose: these run in the Great Expectations process, and importing
# ingest.gx_validation imports Great Expectations (seconds), which this module must not.
def _prepare() -> None:
    import ingest.gx_validation  # noqa: F401


def _run_suite(batch: BatchInput) -> BatchVerdict:
    from ingest.gx_validation import run_suite

    return run_suite(batch)
