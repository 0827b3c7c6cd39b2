"""Prefect flows: orchestration only. The work itself lives in ``ingest``, ``store``, ...."""

from configuration.library_defaults import apply_offline_defaults

apply_offline_defaults()
