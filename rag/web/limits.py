"""Per-client request limit of the web chat, so that one client cannot starve the others.

A sliding window per client (its IP address): at most ``per_minute`` questions in any 60
seconds; further ones are answered at once with a notice instead of waiting in the queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

DEFAULT_PER_MINUTE = 120
LIMITED = ("请求过于频繁，请稍后再试。Too many questions from your address; "
           "please wait a minute and try again.")


class ClientLimiter:
    """Sliding-window rate limit per client key; ``per_minute=0`` turns it off."""

    def __init__(self, per_minute: int = DEFAULT_PER_MINUTE, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be >= 0")
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Record one request of ``client``; False if it is over its limit."""
        if self.per_minute == 0:
            return True
        now = self.clock()
        with self._lock:
            times = self._seen.get(client)
            if times is None:
                if len(self._seen) >= self.max_clients:
                    self._forget_idle(now)
                times = self._seen[client] = deque()
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if not t or now - t[-1] >= self.window]:
            del self._seen[key]


def client_key(request: Any) -> str:
    """The client's address as the server sees it (forwarding headers are not trusted)."""
    client = getattr(request, "client", None)
    host = getattr(client, "host", None)
    return str(host) if host else "unknown"
