"""A deadline on each request's head: a client that connects and then sends its request line and headers slower
than HEAD_TIMEOUT_S (or nothing at all) is disconnected.

uvicorn times out idle keep-alive connections, and BodyLimitMiddleware slow bodies, but nothing times out a request
head that trickles in (the "slowloris" attack): each such connection would hold one of the server's connection
slots for ever. This is uvicorn's own h11 protocol with that one timer added; the server is given it as `http=`.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("citeqa.serve")

HEAD_TIMEOUT_S = 10.0  # from connecting, or from the last response, to a complete request head


class HeadDeadlineProtocol(H11Protocol):
    """H11Protocol that closes a connection whose next request head is not complete `head_timeout` seconds after
    the connection opened or its last response ended. A request being read or answered is never cut."""

    head_timeout = HEAD_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _cancel_head_deadline(self) -> None:
        deadline = getattr(self, "_head_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._head_deadline = None

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        # h11 leaves IDLE once a request's head is complete; past it, the request is being read or answered.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.conn.trailing_data[0]:  # part of a head arrived: a slow client, not an idle keep-alive one
                _log_first_slow_client(self.head_timeout)
            self.transport.close()


_logged = False


def _log_first_slow_client(timeout: float) -> None:
    """One line, the first time: under a slowloris attack every connection is one, and the log must not flood."""
    global _logged
    if not _logged:
        _logged = True
        log.warning("citeqa: closing connections whose request head takes over %.0f s (logged once)", timeout)
