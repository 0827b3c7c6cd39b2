"""How panelmatch's flows and tasks run in Prefect: what Prefect may keep, and retries.

**What Prefect keeps.** Prefect stores task and flow states (with their messages), logs and
tracebacks in its database, and may pickle a result or a failure's exception into
``PREFECT_HOME``. Health data and contact details must never land there, so every flow and
task is declared with ``panel_flow`` / ``panel_task``: no result is persisted, no input is
hashed for caching, and no exception leaves the function but a ``PanelError`` whose message
holds no personal data (``configuration.errors``): any other is replaced, keeping its traceback's
frames (code, not values) and dropping its text and its chained causes.

**Retries.** A database restarting or a file share hiccuping is worth two more tries, after
5 s and 30 s; a wrong input is not (it fails the same way again), so only errors marked
``transient`` are retried. Every step that may be retried is safe to run again: ingest
recognises rows it has stored, queueing never queues an invitation twice, and sending claims
each one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Flow, Task, flow, task
from prefect.cache_policies import NO_CACHE

from configuration.errors import as_panel_error

P = ParamSpec("P")
R = TypeVar("R")


def private(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, raising nothing but ``PanelError`` and never a chained cause."""

    @functools.wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if type(error).__module__.startswith("prefect."):
                raise  # Prefect's own signals (a task's time limit): its words, its handling
            raise as_panel_error(error) from None

    return guarded


def panel_task(name: str, **options: Any) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A Prefect task of panelmatch's: nothing persisted or hashed, errors kept private."""

    def declare(function: Callable[P, R]) -> Task[P, R]:
        return task(name=name, cache_policy=NO_CACHE, persist_result=False, **options)(
            private(function)
        )

    return declare


def panel_flow(name: str, **options: Any) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """A Prefect flow of panelmatch's: parameters as given (paths, dates, ids), nothing
    persisted, errors kept private."""

    def declare(function: Callable[P, R]) -> Flow[P, R]:
        return flow(name=name, validate_parameters=False, persist_result=False, **options)(
            private(function)
        )

    return declare


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    error = state.result(raise_on_failure=False)
    return bool(getattr(error, "transient", False))


def retried_io(timeout_seconds: float) -> dict[str, Any]:
    """Task options: two retries on transient errors (connection, I/O), and a time limit."""
    return {
        "retries": 2,
        "retry_delay_seconds": [5, 30],
        "retry_condition_fn": _transient,
        "timeout_seconds": timeout_seconds,
    }
