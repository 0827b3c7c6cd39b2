"""Prefect flows: orchestration only. The work itself lives in ``ingest``, ``store``, ...."""

from panel.runtime import apply_offline_defaults

apply_offline_defaults()
