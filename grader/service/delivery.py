"""Sending the stored outbound messages: signed callbacks and AGS scores, with retries.

Each delivery is at least once: a row is claimed under a short lease, sent, and its outcome
recorded; a crash before the record only means the same message (same webhook-id, same body) is
sent again, which receivers deduplicate.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence

import httpx

from grader.service import egress, lti
from grader.service.metrics import Metrics
from grader.service.polling import Background, claim_loop
from grader.service.retry import DISABLED, RetryPolicy, decide
from grader.service.signing import signed_headers
from grader.service.store import Delivery, Store

log = logging.getLogger(__name__)

USER_AGENT = "grader-service/1"


class _NotConfigured(Exception):
    """The delivery needs a secret, origins or an LTI platform this service does not have."""


class Dispatcher(Background):
    """A few threads that send due deliveries until stopped."""

    def __init__(
        self,
        store: Store,
        *,
        policy: RetryPolicy,
        callback_keys: Mapping[str, bytes],
        callback_origins: Mapping[str, Sequence[str]],
        platforms: Mapping[str, lti.Platform],
        http: httpx.Client,
        metrics: Metrics,
        concurrency: int,
        poll_seconds: float,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__()
        self._store = store
        self._policy = policy
        self._callback_keys = callback_keys
        self._callback_origins = callback_origins
        self._platforms = platforms
        self._http = http
        self._tokens = lti.TokenSource(http, clock)
        self._metrics = metrics
        self._concurrency = concurrency
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._rng = rng
        # Long enough for a token fetch and a send, each bounded by the HTTP timeout.
        self._lease_seconds = 3 * float(http.timeout.read or 30.0) + 5

    def start(self) -> None:
        """Start the sending threads."""
        for index in range(self._concurrency):
            self._spawn(self._run, f"delivery-{index}")

    def _run(self) -> None:
        claim_loop(self._stop, self._wake, self._poll_seconds,
                   lambda: self._store.claim_delivery(self._clock(), self._lease_seconds), self._attempt, "delivery")

    def _attempt(self, delivery: Delivery) -> None:
        if self._store.is_disabled(delivery.client, delivery.url):
            self._store.record_attempt(
                delivery.id, state=DISABLED, status=None, error="endpoint answered 410 Gone before",
                next_attempt_at=self._clock(), now=self._clock(),
            )
            self._metrics.inc("grader_delivery_attempts_total", kind=delivery.kind, outcome=DISABLED)
            return
        status: int | None = None
        retry_after: str | None = None
        error: str | None = None
        # Only the status and our own words are kept: a receiver's body, or an httpx message that
        # may quote what it sent, could carry anything into the status endpoint and the logs.
        try:
            response = self._send(delivery)
            status = response.status_code
            retry_after = response.headers.get("retry-after")
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as failure:
            error = type(failure).__name__
        except (egress.EgressRefused, lti.TokenError, _NotConfigured) as failure:
            error = f"{type(failure).__name__}: {failure}"
        now = self._clock()
        decision = decide(status, retry_after, delivery.attempts + 1, self._policy, now, self._rng)
        if decision.state == DISABLED:
            self._store.disable_endpoint(delivery.client, delivery.url, f"HTTP 410 to delivery {delivery.id}", now)
        self._store.record_attempt(
            delivery.id, state=decision.state, status=status, error=error,
            next_attempt_at=decision.next_attempt_at, now=now,
        )
        self._metrics.inc("grader_delivery_attempts_total", kind=delivery.kind, outcome=decision.state)
        if error:
            log.info("delivery %s attempt %d: %s -> %s", delivery.id, delivery.attempts + 1, error, decision.state)

    def _send(self, delivery: Delivery) -> httpx.Response:
        if delivery.kind == "callback":
            return self._send_callback(delivery)
        return self._send_score(delivery)

    def _send_callback(self, delivery: Delivery) -> httpx.Response:
        # Each client's callbacks are signed with its own key, so no receiver accepts another's.
        key = self._callback_keys.get(delivery.client)
        if key is None:
            raise _NotConfigured(f"client {delivery.client!r} has no callback_secret configured")
        origins = self._callback_origins.get(delivery.client)
        if not origins:
            raise _NotConfigured(f"client {delivery.client!r} has no callback_origins configured")
        egress.check_url(delivery.url, origins)
        headers = signed_headers(key, delivery.id, int(self._clock()), delivery.payload)
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        return self._http.post(
            delivery.url, content=delivery.payload, headers=headers, extensions=egress.allowing(origins)
        )

    def _send_score(self, delivery: Delivery) -> httpx.Response:
        platform = self._platforms.get(delivery.client)
        if platform is None:
            raise _NotConfigured(f"client {delivery.client!r} has no LTI platform configured")
        # Checked before the token is fetched: the token goes only to the platform's own origins.
        egress.check_url(delivery.url, platform.origins)
        token = self._tokens.token(platform)
        headers = {
            "authorization": f"Bearer {token}",
            "content-type": lti.SCORE_CONTENT_TYPE,
            "user-agent": USER_AGENT,
        }
        response = self._http.post(
            delivery.url, content=delivery.payload, headers=headers, extensions=egress.allowing(platform.origins)
        )
        if response.status_code == 401:
            # A token the platform revoked early; the retry fetches a fresh one.
            self._tokens.forget(platform)
        return response
