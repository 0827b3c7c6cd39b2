"""Rate limiting of ``/svar/*`` per client address: a token bucket in the process's memory.

Each address may make ``burst`` requests at once and then ``per_minute`` a minute. The buckets
live in one process: with several worker processes (or several servers) each keeps its own, so
an address gets that many times the share; a reverse proxy in front should then limit too. At
most ``max_addresses`` buckets are kept; beyond that the least recently used is dropped (it
starts full again), so a flood of addresses cannot fill the memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from respond.errors import TooManyRequests


class RateLimit:
    def __init__(
        self,
        *,
        burst: int = 30,
        per_minute: float = 30,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_minute / 60
        self.max_addresses = max_addresses
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, address: str) -> None:
        """Spend one request of ``address``'s share, or raise ``TooManyRequests``."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(address, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
            if tokens < 1:
                self._buckets[address] = (tokens, now)
                raise TooManyRequests(max(1, math.ceil((1 - tokens) / self.per_second)))
            self._buckets[address] = (tokens - 1, now)
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
