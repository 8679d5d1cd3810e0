"""A bounded, in-process retry buffer for span and log export batches.

When the local agent Collector restarts (or is briefly unreachable), the SDK's batch processor hands us batches
we cannot deliver. Instead of dropping them, :class:`RetryBuffer` keeps the failed batches in a bounded queue and
re-sends them, oldest first, once the exporter works again:

* **Bounded by items** (``OTEL_CLINIC_RETRY_BUFFER_SIZE``, per signal and process; 0 disables the buffer) and
  by age (``OTEL_CLINIC_RETRY_MAX_AGE`` seconds since the batch first failed). When full, the *oldest* items are
  dropped and counted in ``clinic.telemetry.dropped{reason="retry_buffer_full"}``; expired items are counted as
  ``reason="retry_expired"``. Nothing is dropped silently.
* **Never blocks a request thread.** Everything runs in the SDK's export thread or in a short-lived timer thread.
  While backing off, new batches are parked without a send attempt (no wait on a dead endpoint); a retry that
  is already in flight never makes the export thread wait either (the batch is parked instead).
* **Exponential backoff with jitter** (1 s doubling to 10 s, ±20 %). Retries happen at the next export call or
  from a timer when the backoff expires, so a quiet process also drains once the agent is back.
* **Poison batches do not block the queue:** a batch that keeps failing while others go through is dropped
  after a few attempts (``reason="export_failed"``).
* **Flushed on force_flush()/shutdown()** within the given timeout (plus at most one in-flight export, bounded by
  the exporter's own timeout, e.g. ``OTEL_EXPORTER_OTLP_TIMEOUT``); at shutdown, what could not be delivered is
  counted as ``reason="shutdown"``.
* **Fork-safe:** a child process starts with an empty buffer and its own locks; it never re-sends its parent's
  batches (the parent still owns and delivers them).

Metrics are not buffered: they are cumulative, so the next successful collection carries the totals a failed
export would have carried (see ``LazyMetricExporter``).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

_logger = logging.getLogger("otel_clinic.exporters")

INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 10.0
JITTER = 0.2
# Attempts for a batch that fails while the exporter accepts other batches (a permanent rejection).
MAX_POISON_ATTEMPTS = 3
# Longest one export call spends re-sending buffered batches before it returns to the SDK's queue.
DRAIN_BUDGET_S = 2.0
SHUTDOWN_TIMEOUT_MS = 5_000


@dataclass
class _Entry:
    items: list
    failed_at: float
    attempts: int = 0


class RetryBuffer:
    """Holds failed batches of one exporter and re-sends them through ``send`` (returns True on success).

    ``drop(count, reason)`` is called for every item given up on. ``clock`` and ``rand`` are injectable for tests.
    """

    def __init__(
        self,
        send: Callable[[Sequence[Any]], bool],
        drop: Callable[[int, str], None],
        *,
        max_items: int,
        max_age_s: float,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._send_fn = send
        self._drop = drop
        self.max_items = max_items
        self.max_age_s = max_age_s
        self._name = name
        self._clock = clock
        self._rand = rand
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()  # guards the queue and the backoff state (held briefly)
        self._send_lock = threading.Lock()  # one sender at a time (SDK export thread, timer, flush)
        self._pending: deque[_Entry] = deque()
        self._items = 0
        self._failures = 0
        self._next_attempt = 0.0
        self._timer: threading.Timer | None = None
        self._closed = False

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            # The child never re-sends the parent's batches; locks and timers did not survive the fork.
            self._reset_process_state()

    # --- state ------------------------------------------------------------------------------------------

    @property
    def pending_items(self) -> int:
        self._check_fork()
        return self._items

    @property
    def backing_off(self) -> bool:
        return self._clock() < self._next_attempt

    # --- the export path ----------------------------------------------------------------------------------

    def export(self, batch: Sequence[Any]) -> bool:
        """Send ``batch`` (or park it); True when it was delivered now. Called from the SDK export thread."""
        self._check_fork()
        items = list(batch)
        if not items:
            return True
        if self.max_items <= 0:
            ok = self._send(items)
            if not ok:
                self._drop(len(items), "export_failed")
            return ok
        if self._closed:
            self._drop(len(items), "shutdown")
            return False
        # Backing off, or a retry is in flight (timer/flush): park without waiting on the endpoint.
        if self.backing_off or not self._send_lock.acquire(blocking=False):
            self._park(items)
            self._schedule()
            return False
        try:
            if not self._send(items):
                self._park(items)
                self._failed()
                return False
            self._succeeded()
            self._drain(self._clock() + DRAIN_BUDGET_S, healthy=True)
            return True
        finally:
            self._send_lock.release()

    def flush(self, timeout_millis: float) -> bool:
        """Re-send what is buffered now (ignoring the backoff) until empty, a send fails or the timeout passes."""
        self._check_fork()
        if not self._items:
            return True
        deadline = self._clock() + timeout_millis / 1000
        if not self._send_lock.acquire(timeout=max(0.0, timeout_millis / 1000)):
            return False
        try:
            return self._drain(deadline, healthy=False)
        finally:
            self._send_lock.release()

    def shutdown(self, timeout_millis: float = SHUTDOWN_TIMEOUT_MS) -> None:
        """Flush within the timeout, then count whatever is left as dropped (reason ``shutdown``)."""
        self._check_fork()
        self.flush(timeout_millis)
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            left = self._items
            self._pending.clear()
            self._items = 0
        if timer is not None:
            timer.cancel()
        if left:
            _logger.warning("otel_clinic: %s: %d buffered items could not be delivered before shutdown", self._name, left)
            self._drop(left, "shutdown")

    # --- internals ----------------------------------------------------------------------------------------

    def _send(self, items: list) -> bool:
        try:
            return bool(self._send_fn(items))
        except Exception:  # the caller's send already turns exceptions into False; be safe anyway
            return False

    def _park(self, items: list) -> None:
        now = self._clock()
        dropped_full = 0
        with self._lock:
            dropped_expired = self._expire(now)
            if len(items) > self.max_items:  # batches arrive oldest first: keep the newest
                dropped_full += len(items) - self.max_items
                items = items[-self.max_items:]
            overflow = self._items + len(items) - self.max_items
            while overflow > 0 and self._pending:
                oldest = self._pending[0]
                if len(oldest.items) <= overflow:
                    self._pending.popleft()
                    cut = len(oldest.items)
                else:
                    cut = overflow
                    oldest.items = oldest.items[cut:]
                self._items -= cut
                overflow -= cut
                dropped_full += cut
            self._pending.append(_Entry(items, now))
            self._items += len(items)
        if dropped_full:
            self._drop(dropped_full, "retry_buffer_full")
        if dropped_expired:
            self._drop(dropped_expired, "retry_expired")

    def _expire(self, now: float) -> int:
        """Drop entries older than max_age (caller holds the lock); returns the item count dropped."""
        dropped = 0
        while self._pending and now - self._pending[0].failed_at > self.max_age_s:
            entry = self._pending.popleft()
            self._items -= len(entry.items)
            dropped += len(entry.items)
        return dropped

    def _drain(self, deadline: float, *, healthy: bool) -> bool:
        """Send buffered batches oldest first (caller holds the send lock). True when the buffer is empty.

        ``healthy``: a send already succeeded in this pass; a batch that fails then is suspected poison.
        """
        while True:
            with self._lock:
                dropped = self._expire(self._clock())
                entry = self._pending[0] if self._pending else None
            if dropped:
                self._drop(dropped, "retry_expired")
            if entry is None:
                return True
            if self._clock() >= deadline:
                self._schedule(0.05)  # budget used up: continue soon, off this thread
                return False
            if self._send(entry.items):
                with self._lock:
                    if self._pending and self._pending[0] is entry:
                        self._pending.popleft()
                        self._items -= len(entry.items)
                self._succeeded()
                healthy = True
                continue
            if healthy:
                entry.attempts += 1
                if entry.attempts >= MAX_POISON_ATTEMPTS:
                    with self._lock:
                        if self._pending and self._pending[0] is entry:
                            self._pending.popleft()
                            self._items -= len(entry.items)
                    _logger.warning("otel_clinic: %s: a batch of %d items was rejected %d times; dropped",
                                    self._name, len(entry.items), entry.attempts)
                    self._drop(len(entry.items), "export_failed")
            self._failed()
            return False

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._next_attempt = 0.0

    def _failed(self) -> None:
        with self._lock:
            self._failures += 1
            base = min(MAX_BACKOFF_S, INITIAL_BACKOFF_S * 2 ** (self._failures - 1))
            delay = base * (1 - JITTER + 2 * JITTER * self._rand())
            self._next_attempt = self._clock() + delay
        self._schedule()

    def _schedule(self, delay: float | None = None) -> None:
        """Make sure a timer will retry the buffer (when the backoff expires, or after ``delay``)."""
        with self._lock:
            if self._closed or not self._pending or (self._timer is not None and self._timer.is_alive()):
                return
            if delay is None:
                delay = max(0.05, self._next_attempt - self._clock())
            timer = threading.Timer(delay, self._on_timer)
            timer.daemon = True
            timer.name = "otel_clinic-retry"
            self._timer = timer
        timer.start()

    def _on_timer(self) -> None:
        if self._pid != os.getpid():
            return
        with self._lock:
            self._timer = None
        try:
            if self.backing_off:
                self._schedule()
                return
            if not self._send_lock.acquire(blocking=False):
                self._schedule(0.5)  # the export thread is sending; it drains after its own batch
                return
            try:
                self._drain(self._clock() + DRAIN_BUDGET_S, healthy=False)
            finally:
                self._send_lock.release()
        except Exception:  # a timer thread must never raise
            _logger.debug("otel_clinic: retry timer failed", exc_info=True)
