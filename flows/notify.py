"""Telling someone when a cycle fails: a JSON POST to ``PANEL_NOTIFY_WEBHOOK``.

A Prefect state hook on the cycle flow (failed or crashed). The message names the flow run,
its state and why (a refused export's reasons, or the error): never a volunteer, an address
or a health detail. A webhook that cannot be reached is logged and does not hide the
cycle's own failure. Prefect automations (a "flow run failed" trigger with a notification
action, set up in Prefect's UI) are the alternative when a Prefect server is in use.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from configuration.settings import load_settings

log = logging.getLogger(__name__)


def report_failure(flow: Any, flow_run: Any, state: Any) -> None:
    webhook = load_settings().cycle.notify_webhook
    if webhook is None:
        return
    message = {
        "text": f"panelmatch: flow run '{flow_run.name}' of '{flow.name}' {state.name.lower()}: "
        f"{state.message or 'no message'}",
        "flow": flow.name,
        "flow_run": flow_run.name,
        "flow_run_id": str(flow_run.id),
        "state": state.name,
        "message": state.message,
    }
    try:
        httpx.post(webhook.get_secret_value(), json=message, timeout=10).raise_for_status()
    except httpx.HTTPError as error:
        log.error("could not notify the webhook: %s", type(error).__name__)
