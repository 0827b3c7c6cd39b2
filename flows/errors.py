"""The flows' errors: the ``FlowError`` family (``configuration.errors`` states the rule: no
personal data in a message; flows also pass every other error through ``as_panel_error``)."""

from __future__ import annotations

from configuration.errors import PanelError


class FlowError(PanelError):
    """A flow cannot run as configured, or stopped on purpose; the base of the flows' errors."""


class CycleStopped(FlowError):
    """The cycle stopped before matching: an export was refused or could not be ingested."""
