"""Who did something, and when: the pair every recorded act of the panel carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Act:
    """Who did something, and when: what every ingest, published study, match run, decision,
    view and account change records (stored as its actor and time columns)."""

    who: str
    at: datetime
