"""Pub/Sub push delivery of the sandbox's queued notifications, as Pub/Sub does it.

``Pusher`` runs in ``serve``'s own threads (never the HTTP API's): a coordinator reads the due
rows of the ``push`` table (``notify`` queued them, in this process or in ``enroll``'s) and POSTs
them to ``url`` in publish order on one keep-alive connection — or, with ``reorder``, over
``workers`` threads at once, each with a connection of its own:

* the body is the queued one, exactly ANDROID.md 3.1; ``Content-Type: application/json``;
* ``Authorization: Bearer <OIDC token>`` (``keys.oidc_token``): ``aud`` = ``audience`` (the push
  URL when none is given), ``email`` = ``email`` (the key's ``client_email`` when none is
  given); one token is reused until it is 55 minutes old, as Pub/Sub reuses its tokens for up to
  an hour (ANDROID.md 3.2);
* 102, 200, 201, 202 and 204 acknowledge (the row is deleted); any other status, a timeout
  (``timeout``: the ack deadline, 10 s) or a refused connection leave it for a redelivery after
  ``min_backoff`` × 2^(attempts − 1) seconds, at most ``max_backoff`` (1 s and 60 s here; Pub/Sub
  defaults to 10 s and 600 s with a retry policy, ANDROID.md 7), until it is acknowledged;
* ``duplicate_rate`` (0–1) of the messages are delivered twice, and ``reorder`` shuffles each
  batch within windows of ``REORDER_WINDOW`` messages: Pub/Sub's at-least-once, unordered
  delivery, made visible.

The queue lives in the state file, so a restart keeps what was not acknowledged. With no URL
(``serve`` without ``--push-url``, ``MAMORI_PUBSUB_PUSH_SECRET`` unset) nothing is pushed: the
queue is emptied as it fills.
"""

from __future__ import annotations

import collections
import http.client
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mamori.android.sandbox import common, keys
from mamori.android.sandbox.store import Store

ACK_STATUSES = frozenset({102, 200, 201, 202, 204})
REORDER_WINDOW = 5
TOKEN_REUSE = 55 * 60  # seconds
BATCH = 64


@dataclass(frozen=True)
class Delivery:
    """One push attempt's result: the queue row, the HTTP status (0: no answer), the time."""

    seq: int
    status: int
    seconds: float


class TokenCache:
    """One OIDC token for ``audience`` and ``email``, renewed when ``TOKEN_REUSE`` old."""

    def __init__(self, key: dict[str, Any], audience: str, email: str | None) -> None:
        self.key, self.audience, self.email = key, audience, email
        self._token, self._made = "", 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        """The current token (a new one past ``TOKEN_REUSE`` seconds)."""
        with self._lock:
            now = time.time()
            if not self._token or now - self._made >= TOKEN_REUSE:
                self._token = keys.oidc_token(self.key, self.audience, self.email, now)
                self._made = now
            return self._token


class Poster:
    """A keep-alive HTTP(S) connection to one URL, reopened after an error."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, token: str) -> int:
        """POST ``body``; the HTTP status, or 0 when there was no answer (refused, timeout)."""
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
        }
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more, fresh
            try:
                connection = self._connection or self._open()
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status
            except (OSError, http.client.HTTPException):
                fresh = self._connection is None
                self.close()
                if fresh or attempt == 2:
                    return 0
        return 0

    def _open(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self._connection = kind(self.host, self.port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        """Close the connection (the next post opens one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Pusher(common.Loop):
    """Delivers the ``push`` queue to ``url`` (None: drops it); see the module docstring.

    ``delivered`` lists the last 10,000 attempts (``Delivery``), for tests; ``start()`` /
    ``stop()`` run the coordinator thread (``common.Loop``); ``deliver_due()`` does one round by
    hand and returns its attempts.
    """

    thread_name = "amapi-pusher"

    def __init__(
        self,
        store: Store,
        key: dict[str, Any],
        url: str | None,
        *,
        audience: str | None = None,
        email: str | None = None,
        duplicate_rate: float = 0.0,
        reorder: bool = False,
        workers: int = 4,
        timeout: float = 10.0,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        tick: float = 0.05,
    ) -> None:
        self.store = store
        self.key = key
        self.duplicate_rate = duplicate_rate
        self.reorder = reorder
        self.timeout = timeout
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.tick = tick
        self.workers = workers
        self.delivered: collections.deque[Delivery] = collections.deque(maxlen=10_000)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="amapi-push")
        self.join_timeout = timeout + 5
        super().__init__()
        self.configure(url, audience=audience, email=email)

    def configure(self, url: str | None, *, audience: str | None = None,
                  email: str | None = None) -> None:  # fmt: skip
        """Point delivery at ``url`` (None: drop what is queued) with these token claims."""
        self.url = url
        self.tokens = TokenCache(self.key, audience or url or "", email)
        self._generation = getattr(self, "_generation", 0) + 1

    def step(self) -> list[Delivery]:
        """One round of the loop (``deliver_due``)."""
        return self.deliver_due()

    def deliver_due(self, now: float | None = None) -> list[Delivery]:
        """One round: the due rows POSTed (or dropped without a URL); the queue updated."""
        moment = time.time() if now is None else now
        rows = self.store.read(
            "SELECT seq, body, attempts FROM push WHERE next_try <= ? ORDER BY next_try, seq "
            "LIMIT ?",
            (moment, BATCH),
        )
        if not rows:
            return []
        if self.url is None:  # nowhere to push: nothing is kept for later
            with self.store.write() as db:
                db.execute("DELETE FROM push WHERE next_try <= ?", (moment,))
            return []
        sends = self.schedule([(int(row["seq"]), row["body"].encode()) for row in rows])
        url, token = self.url, self.tokens.token()
        if self.reorder:  # out of order anyway: over ``workers`` connections at once
            results = list(self._pool.map(lambda send: self.send(url, token, *send), sends))
        else:  # in publish order, one connection
            results = [self.send(url, token, *send) for send in sends]
        self.delivered.extend(results)
        acked = {result.seq for result in results if result.status in ACK_STATUSES}
        attempts = {int(row["seq"]): int(row["attempts"]) + 1 for row in rows}
        with self.store.write() as db:
            db.executemany("DELETE FROM push WHERE seq = ?", [(seq,) for seq in acked])
            db.executemany(
                "UPDATE push SET attempts = ?, next_try = ? WHERE seq = ?",
                [(attempts[seq], moment + self.backoff(attempts[seq]), seq)
                 for seq in attempts if seq not in acked],
            )  # fmt: skip
        return results

    def schedule(self, rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """The sends of a round: some twice (``duplicate_rate``), shuffled in windows
        (``reorder``)."""
        sends = []
        for row in rows:
            sends.append(row)
            if self.duplicate_rate and random.random() < self.duplicate_rate:
                sends.append(row)
        if self.reorder:
            windows = [sends[i : i + REORDER_WINDOW] for i in range(0, len(sends), REORDER_WINDOW)]
            for window in windows:
                random.shuffle(window)
            sends = [send for window in windows for send in window]
        return sends

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones."""
        return float(min(self.max_backoff, self.min_backoff * 2 ** max(attempts - 1, 0)))

    def send(self, url: str, token: str, seq: int, body: bytes) -> Delivery:
        """POST one message on this worker thread's connection."""
        poster: Poster | None = getattr(self._local, "poster", None)
        if poster is None or getattr(self._local, "generation", 0) != self._generation:
            if poster is not None:
                poster.close()
            poster = Poster(url, self.timeout)
            self._local.poster, self._local.generation = poster, self._generation
        started = time.monotonic()
        status = poster.post(body, token)
        return Delivery(seq, status, time.monotonic() - started)

    def close(self) -> None:
        """Stop and release the worker threads."""
        self.stop()
        self._pool.shutdown(wait=True)
