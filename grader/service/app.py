"""The HTTP API of the webhook service (FastAPI).

Handlers are thin: verify, parse, store, answer. Everything slow (grading, callbacks) happens
in the runtime's threads after the submission is durably stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from grader import strict_json
from grader.jobs.grading import GradeFn
from grader.service import intake
from grader.service.lti_pages import add_pages
from grader.service.lti_routes import add_launch_routes
from grader.service.runtime import Runtime, TokenScope
from grader.service.schemas import (
    Accepted,
    JobStatus,
    JsonSubmission,
    Problem,
    SubmissionMetadata,
    inline_schema,
)
from grader.service.settings import ServiceSettings
from grader.service.signing import SignatureError, check_headers, verify
from grader.service.store import ConflictError, NewSubmission, ResubmissionLimitReached

_bearer = HTTPBearer(
    auto_error=False, description="A client's `api_tokens` (its own jobs) or one of the `admin_tokens` (all jobs)."
)

_SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "Signed with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`). "
            "Either JSON, or multipart with a `metadata` part (JSON) and a `file` part."
        ),
        "content": {
            "application/json": {"schema": inline_schema(JsonSubmission)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "file"],
                    "properties": {
                        "metadata": {**inline_schema(SubmissionMetadata), "description": "JSON text"},
                        "file": {"type": "string", "format": "binary"},
                    },
                },
            },
        },
    }
}


_ON_LOOP_BYTES = 64 * 1024
"""Bodies up to this size are verified and parsed on the event loop (well under a millisecond)."""

_T = TypeVar("_T")


class StrictJSONResponse(JSONResponse):
    """Every JSON body the service answers with: NaN and Infinity become null (grader.strict_json)."""

    def render(self, content: Any) -> bytes:
        return strict_json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


class _TooLarge(Exception):
    """The body exceeds `max_body_bytes`."""


class _BodyBudget:
    """Bytes of request bodies the service holds at once, across requests.

    One body may be as large as a notebook with its figures (`max_body_bytes`), and anyone can
    announce one with plausible headers before the signature can be checked; without a total,
    a few slow connections would hold the service's memory. Used from the event loop only.
    """

    def __init__(self, total: int) -> None:
        self._free = total

    def reserve(self, size: int) -> bool:
        if size > self._free:
            return False
        self._free -= size
        return True

    def release(self, size: int) -> None:
        self._free += size


def create_app(
    settings: ServiceSettings, *, grade_fn: GradeFn | None = None, clock: Callable[[], float] = time.time
) -> FastAPI:
    """The service's ASGI app; its lifespan starts and stops the workers and deliveries."""
    runtime = Runtime(settings, grade_fn, clock)
    budget = _BodyBudget(settings.max_inflight_body_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(runtime.start)
        try:
            yield
        finally:
            await run_in_threadpool(runtime.stop)

    app = FastAPI(
        title="grader webhook service",
        summary="Signed submissions in, signed grades and LTI AGS scores out.",
        version="1",
        lifespan=lifespan,
        default_response_class=StrictJSONResponse,
    )

    @app.post(
        "/v1/submissions",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_SUBMISSION_BODY,
        responses={
            200: {"model": Accepted, "description": "A replay of an accepted webhook-id: the same job."},
            401: {"model": Problem, "description": "Missing or wrong signature, or stale timestamp."},
            409: {"model": Problem, "description": "The webhook-id was used for a different body."},
            413: {"model": Problem, "description": "Body larger than `max_body_bytes`."},
            415: {"model": Problem, "description": "Neither JSON nor multipart."},
            422: {"model": Problem, "description": "Malformed or refused submission."},
            429: {"model": Problem, "description": "Rate limit or the student's resubmission limit; see Retry-After."},
        },
    )
    async def submit(request: Request) -> StrictJSONResponse:
        """Store a signed submission and queue it for grading; answers once it is on disk."""
        started = time.perf_counter()
        response = await _submit(runtime, budget, request)
        runtime.metrics.observe("grader_accept_seconds", time.perf_counter() - started)
        return response

    @app.get(
        "/v1/submissions/{job_id}",
        response_model=JobStatus,
        responses={401: {"model": Problem}, 404: {"model": Problem}},
    )
    async def status(
        job_id: str, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Any:
        """Where a submission's grading stands; the report and deliveries once done."""
        scope = _token_scope(credentials, runtime.tokens)
        if scope is None:
            return _problem(401, "a valid bearer token is required", headers={"www-authenticate": "Bearer"})
        # Another client's job is 404 like a missing one: a token must not even learn that it exists.
        found = await run_in_threadpool(runtime.store.job_status, job_id, client=scope.client)
        if found is None:
            return _problem(404, f"no submission {job_id!r}")
        return _job_status(found)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness: the database answers (200 even during a sandbox outage, which restarting cannot fix)."""
        await run_in_threadpool(runtime.store.counts)
        return {"status": "ok", "sandbox": runtime.sandbox_health()}

    @app.get("/readyz")
    async def readyz() -> StrictJSONResponse:
        """Readiness to grade: 503 while the sandbox is down (submissions are still accepted and queued)."""
        await run_in_threadpool(runtime.store.counts)
        sandbox = runtime.sandbox_health()
        ready = sandbox["state"] != "down"
        return StrictJSONResponse({"status": "ok" if ready else "sandbox_down", "sandbox": sandbox},
                                  status_code=200 if ready else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        """Prometheus text format, or OpenMetrics for a scraper that asks for it."""
        counts = await run_in_threadpool(runtime.store.counts)
        held = await run_in_threadpool(runtime.store.held)
        gauges: dict[str, Any] = {"grader_jobs": counts["jobs"], "grader_deliveries": counts["deliveries"],
                                  "grader_jobs_held": held}
        if runtime.gate is not None:
            gauges["grader_sandbox_up"] = int(runtime.gate.state.up)
        body, content_type = runtime.metrics.exposition(gauges, request.headers.get("accept", ""))
        return Response(body, media_type=content_type)

    add_launch_routes(app, runtime)
    add_pages(app, runtime)
    return app


async def _submit(runtime: Runtime, budget: _BodyBudget, request: Request) -> StrictJSONResponse:
    settings = runtime.settings
    metrics = runtime.metrics
    try:
        check_headers(request.headers, runtime.clock(), settings.timestamp_tolerance_seconds)
    except SignatureError as error:
        return _unsigned(runtime, request, error)
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else settings.max_body_bytes
    if size > settings.max_body_bytes:
        metrics.inc("grader_submissions_total", outcome="too_large")
        return _problem(413, f"the body is larger than {settings.max_body_bytes} bytes")
    if not budget.reserve(size):
        metrics.inc("grader_submissions_total", outcome="busy")
        return _problem(503, "the service is receiving too many large submissions at once; retry shortly",
                        headers={"retry-after": "1"})
    try:
        return await _submit_body(runtime, request)
    finally:
        budget.release(size)


def _unsigned(runtime: Runtime, request: Request, error: SignatureError) -> StrictJSONResponse:
    """401, or 429 per address: unsigned traffic cannot starve signed clients of CPU."""
    wait = runtime.address_limiter.acquire(f"ip:{request.client.host if request.client else '-'}")
    if wait:
        runtime.metrics.inc("grader_submissions_total", outcome="rate_limited")
        return _rate_limited(wait)
    runtime.metrics.inc("grader_submissions_total", outcome="unauthorized")
    return _problem(401, str(error))


async def _submit_body(runtime: Runtime, request: Request) -> StrictJSONResponse:
    settings = runtime.settings
    metrics = runtime.metrics
    try:
        # A sender that trickles its body would otherwise hold its share of the body budget for ever.
        async with asyncio.timeout(settings.body_read_timeout_seconds):
            body = await _read_limited(request, settings.max_body_bytes)
    except _TooLarge:
        metrics.inc("grader_submissions_total", outcome="too_large")
        return _problem(413, f"the body is larger than {settings.max_body_bytes} bytes")
    except TimeoutError:
        metrics.inc("grader_submissions_total", outcome="too_slow")
        return _problem(408, f"the body did not arrive within {settings.body_read_timeout_seconds:g} s")
    try:
        client = await _off_loop_if_large(
            body, verify, runtime.client_keys, request.headers, body, runtime.clock(),
            settings.timestamp_tolerance_seconds,
        )
    except SignatureError as error:
        return _unsigned(runtime, request, error)
    wait = runtime.client_limiter.acquire(f"client:{client}")
    if wait:
        metrics.inc("grader_submissions_total", outcome="rate_limited")
        return _rate_limited(wait)
    try:
        parsed = await _parse(request, body)
        intake.check_allowed(
            parsed, settings.clients[client], accepted_assignments=settings.accepted_assignments
        )
    except intake.Unacceptable as error:
        metrics.inc("grader_submissions_total", outcome="invalid")
        return _problem(error.status, error.detail, errors=error.errors)
    new = NewSubmission(
        client=client,
        webhook_id=request.headers["webhook-id"],
        request_sha256=hashlib.sha256(body).hexdigest(),
        assignment=parsed.metadata.assignment,
        student_id=parsed.metadata.student_id,
        filename=parsed.filename,
        content=parsed.content,
        content_sha256=hashlib.sha256(parsed.content).hexdigest(),
        callback_url=parsed.metadata.callback_url,
        lti=parsed.metadata.lti.model_dump() if parsed.metadata.lti else None,
    )
    try:
        job_id, created = await run_in_threadpool(
            runtime.store.accept, new, runtime.clock(), limit=runtime.resubmission_limit
        )
    except ConflictError as error:
        metrics.inc("grader_submissions_total", outcome="conflict")
        return _problem(409, str(error))
    except ResubmissionLimitReached as reached:
        metrics.inc("grader_submissions_total", outcome="resubmission_limited")
        detail = (
            f"student {new.student_id!r} has used all {reached.limit.count} submissions of {new.assignment!r}"
            f" allowed within {_duration(reached.limit.window_seconds)}; the next one is possible in"
            f" {_duration(reached.wait_seconds)}"
        )
        return _problem(429, detail, headers={"retry-after": str(math.ceil(reached.wait_seconds))})
    if created:
        runtime.pool.wake()
    metrics.inc("grader_submissions_total", outcome="accepted" if created else "duplicate")
    status_url = str(request.url_for("status", job_id=job_id))
    return StrictJSONResponse({"job_id": job_id, "status_url": status_url}, status_code=202 if created else 200)


async def _off_loop_if_large(body: bytes, work: Callable[..., _T], *args: Any) -> _T:
    """`work(*args)` on a body: on the event loop when it is small, in the thread pool when it is not.

    Hashing or parsing a body of tens of MB takes a while, so not on the event loop; for a body
    of a few KB it takes microseconds, and handing it to a thread costs two GIL hand-offs, which
    wait for tens of ms while grading threads run (the tail of the 202 latency).
    """
    if len(body) <= _ON_LOOP_BYTES:
        return work(*args)
    return await run_in_threadpool(work, *args)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing early by Content-Length and again by the bytes actually received."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _parse(request: Request, body: bytes) -> intake.Intake:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return await _off_loop_if_large(body, intake.parse_json, body)
    if content_type == "multipart/form-data":
        return await intake.parse_multipart(request.scope, body)
    raise intake.Unacceptable("send application/json or multipart/form-data", status=415)


def _token_scope(
    credentials: HTTPAuthorizationCredentials | None, tokens: list[tuple[bytes, TokenScope]]
) -> TokenScope | None:
    """Whose jobs the offered token reads; None for a missing or unknown token."""
    if credentials is None:
        return None
    offered = credentials.credentials.encode()
    scope = None
    # Compared with every token so the time taken does not tell which one is close.
    for token, owner in tokens:
        if hmac.compare_digest(offered, token):
            scope = owner
    return scope


def _job_status(found: dict[str, Any]) -> dict[str, Any]:
    job, result = found["job"], found["result"]
    return {
        "job_id": job["id"],
        "state": job["state"],
        "status": result["status"] if result else None,
        "assignment": job["assignment"],
        "student_id": job["student_id"],
        "filename": job["filename"],
        "submission_sha256": job["content_sha256"],
        "attempts": job["attempts"],
        "last_error": job["last_error"],
        "created_at": job["created_at"],
        "finished_at": job["finished_at"],
        "score": result["score"] if result else None,
        "max_score": result["max_score"] if result else None,
        "report": result["report"] if result else None,
        "deliveries": found["deliveries"],
    }


def _problem(status: int, detail: str, *, errors: list[str] | None = None, headers: dict[str, str] | None = None) -> StrictJSONResponse:
    return StrictJSONResponse({"detail": detail, "errors": errors or []}, status_code=status, headers=headers)


def _duration(seconds: float) -> str:
    """'24 h', '90 min', '45 s': a wait a student reads."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 600:
        return f"{math.ceil(seconds / 60)} min"
    return f"{math.ceil(seconds)} s"


def _rate_limited(wait: float) -> StrictJSONResponse:
    return _problem(429, "too many submissions; retry later", headers={"retry-after": str(math.ceil(wait))})
