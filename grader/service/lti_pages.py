"""The LTI tool's pages: hand in, grading status, feedback, attempts, and the class view for staff.

Server-rendered HTML (Jinja2, autoescaped) that works inside the platform's iframe and without
scripts. Every page is reached through a launch's session (grader.service.lti_session); what a
session may see is decided in grader.service.lti_views. A hand-in becomes an ordinary job of the
launch's client, accepted through the store under the service's limits, and its score goes to the
launch's line item through the existing AGS delivery.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import math
import re
import secrets
import statistics
import uuid
from typing import Any

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from grader.assignment import Assignment, load_assignment
from grader.batch.page import frequent_failures, pass_rates, summary_page
from grader.service import egress, intake, lti_views
from grader.service.lti_launch import Launch, Session
from grader.service.lti_session import (
    LtiRefused,
    check_csrf,
    current_session,
    open_session,
    session_url,
    set_session_cookie,
)
from grader.service.runtime import Runtime
from grader.service.schemas import SubmissionMetadata, plain_filename
from grader.service.store import HELD_STATUS, NewSubmission, ResubmissionLimitReached
from grader.submission import KINDS, MAX_BYTES, Rejected, Submission

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("grader.service", "templates/lti"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_templates.filters["utc"] = lambda seconds: dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime(
    "%Y-%m-%d %H:%M:%S"
)


HANDOFF_SECONDS = 120
"""How long the button that opens a page in a new window works."""
_HANDOFF_FORM_BYTES = 1024
# The pages a new window may open: a handoff never redirects anywhere else.
_PAGE = re.compile(r"/lti/(hand-in|attempts|class|class/summary|submissions/job_[0-9a-f]{32}(/feedback)?)")


class _Refused(Exception):
    """A hand-in that is not stored; the page says why."""

    def __init__(self, status: int, title: str, errors: list[str] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.errors = errors or []


def add_pages(app: FastAPI, runtime: Runtime) -> None:
    """Register every page under /lti/ apart from the launch protocol's own endpoints."""

    @app.get("/lti/hand-in", response_class=HTMLResponse, include_in_schema=False)
    async def hand_in_page(request: Request, session: Session = Depends(current_session)) -> Response:
        return _page(runtime, request, session, "hand_in.html", problem=None)

    @app.post("/lti/hand-in", response_class=HTMLResponse, include_in_schema=False)
    async def hand_in(request: Request, session: Session = Depends(current_session)) -> Response:
        try:
            job_id = await _hand_in(runtime, request, session)
        except _Refused as refused:
            outcome = "rate_limited" if refused.status == 429 else "invalid"
            runtime.metrics.inc("grader_submissions_total", outcome=outcome)
            return _page(runtime, request, session, "hand_in.html", status=refused.status, problem=refused)
        return RedirectResponse(session_url(session, f"/lti/submissions/{job_id}"), status_code=303)

    @app.get("/lti/attempts", response_class=HTMLResponse, include_in_schema=False)
    async def attempts(request: Request, session: Session = Depends(current_session)) -> Response:
        launch = session.launch
        rows = await run_in_threadpool(
            runtime.store.attempts, launch.client, lti_views.assignment_key(launch), launch.user_id
        )
        return _page(runtime, request, session, "attempts.html", attempts=rows)

    @app.get("/lti/submissions/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    async def submission_status(job_id: str, request: Request, session: Session = Depends(current_session)) -> Response:
        found = await _visible_job(runtime, session.launch, job_id)
        if found is None:
            return _problem(runtime, request, session, 404, "No such submission of yours.")
        result = found["result"]
        return _page(runtime, request, session, "status.html", job=found["job"], result=result,
                     done=result is not None, held=result is not None and result["status"] == HELD_STATUS)

    @app.get("/lti/submissions/{job_id}/feedback", response_class=HTMLResponse, include_in_schema=False)
    async def feedback(job_id: str, request: Request, session: Session = Depends(current_session)) -> Response:
        found = await _visible_job(runtime, session.launch, job_id)
        if found is None:
            return _problem(runtime, request, session, 404, "No such submission of yours.")
        result = found["result"]
        if result is None:
            return RedirectResponse(session_url(session, f"/lti/submissions/{job_id}"), status_code=303)
        state = lti_views.gradebook_state(result["status"], found["deliveries"], HELD_STATUS)
        return _page(
            runtime, request, session, "feedback.html", job=found["job"], result=result,
            feedback=lti_views.feedback(result["report"]), gradebook=lti_views.GRADEBOOK_STATES[state or "none"],
            gradebook_pending=state == "pending", message=str(result["report"].get("message", "")),
            student_name=found["job"]["student_id"] if session.launch.staff else None,
        )

    @app.get("/lti/class", response_class=HTMLResponse, include_in_schema=False)
    async def class_view(request: Request, session: Session = Depends(current_session)) -> Response:
        if not session.launch.staff:
            return _problem(runtime, request, session, 403, "The class view is for the course's teachers.")
        latest = await _latest(runtime, session.launch)
        reports = lti_views.reports(latest)
        scores = [report.score for report in reports.values()]
        return _page(
            runtime, request, session, "class.html", students=latest, graded=len(reports),
            mean=f"{statistics.fmean(scores):.1f}" if scores else "-",
            rates=pass_rates(reports, list(_assignment().functions)) if reports else [],
            failures=frequent_failures(reports),
        )

    @app.get("/lti/class/summary", response_class=HTMLResponse, include_in_schema=False)
    async def class_summary(request: Request, session: Session = Depends(current_session)) -> Response:
        if not session.launch.staff:
            return _problem(runtime, request, session, 403, "The class view is for the course's teachers.")
        latest = await _latest(runtime, session.launch)
        reports = lti_views.reports(latest)
        return HTMLResponse(summary_page(reports, _assignment()), headers=_headers(runtime, session.launch))

    @app.get("/lti/new-window", response_class=HTMLResponse, include_in_schema=False)
    async def new_window(request: Request, page: str = "/lti/hand-in",
                         session: Session = Depends(current_session)) -> Response:
        """A button that opens `page` in a window of its own, taking this session's launch along once.

        The session's cookie is partitioned under the platform's site (it lives in the platform's
        iframe), so a new window of our own site does not have it; the button carries a
        single-use handoff token instead, which the new window exchanges for a session of its own.
        """
        handoff = secrets.token_urlsafe(32)
        now = runtime.clock()
        await run_in_threadpool(
            functools.partial(
                runtime.store.start_handoff, token_sha256=_sha256(handoff), launch=_launch_data(session.launch),
                page=page if _PAGE.fullmatch(page) else "/lti/hand-in", expires_at=now + HANDOFF_SECONDS,
                session_expires_at=session.expires_at, now=now,
            )
        )
        response = _page(runtime, request, session, "new_window.html", handoff=handoff, minutes=HANDOFF_SECONDS // 60)
        # Under no-referrer a browser sends `Origin: null` with the button's POST, and /lti/window then
        # cannot tell our own button from another site's form; same-origin still sends nothing elsewhere.
        response.headers["referrer-policy"] = "same-origin"
        return response

    @app.post("/lti/window", include_in_schema=False)
    async def window(request: Request) -> Response:
        """The new window: a session for the handed-off launch (its cookie first-party here), then the page."""
        declared = request.headers.get("content-length", "")
        # Anyone may post here: only a small form is read.
        if not declared.isdigit() or int(declared) > _HANDOFF_FORM_BYTES:
            raise LtiRefused(
                413, "Not a handoff", "This address only takes the button of an 'Open in a new window' page."
            )
        # Only our own "Open in a new window" page may post here. A form on another site posting its
        # own handoff would sign the student in as someone else (login CSRF), and their work would be
        # handed in under that name; browsers send Origin with every POST, so that form is told apart.
        if not _from_own_page(runtime, request):
            raise LtiRefused(
                403, "Not from this tool", "Open the new window with the button on the assignment's own page."
            )
        form = await request.form(max_files=0, max_fields=1)
        handoff = form.get("handoff")
        now = runtime.clock()
        taken = None
        if isinstance(handoff, str):
            taken = await run_in_threadpool(runtime.store.take_handoff, _sha256(handoff), now)
        if taken is None:
            raise LtiRefused(
                401, "Link expired", "This button works once and for a short time; go back and press it again."
            )
        launch = Launch(**(taken["launch"] | {"roles": frozenset(taken["launch"]["roles"])}))
        session = await run_in_threadpool(
            functools.partial(open_session, runtime.store, launch, now, ends_by=taken["session_expires_at"])
        )
        response = RedirectResponse(session_url(session, taken["page"]), status_code=303)
        set_session_cookie(response, session, now)
        return response


def _from_own_page(runtime: Runtime, request: Request) -> bool:
    """Whether the request's Origin is the tool's own (`public_url`, else the request's address)."""
    try:
        sent = egress.parse_url(request.headers.get("origin", ""))
        return sent == egress.parse_url(runtime.settings.public_url or str(request.base_url))
    except egress.EgressRefused:
        return False


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _launch_data(launch: Launch) -> dict[str, Any]:
    return dataclasses.asdict(launch) | {"roles": sorted(launch.roles)}


async def _hand_in(runtime: Runtime, request: Request, session: Session) -> str:
    """Check and store one hand-in; the new job's id, or _Refused with what the student reads."""
    launch = session.launch
    settings = runtime.settings
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise _Refused(411, "Your browser sent the file without its size; hand it in again.")
    if int(declared) > settings.max_body_bytes:
        raise _Refused(413, f"The file is larger than {settings.max_body_bytes // (1024 * 1024)} MB.")
    try:
        form = await request.form(max_files=1, max_fields=2)
    except MultiPartException as error:
        raise _Refused(422, "The form could not be read.", [str(error)]) from None
    try:
        token = form.get("csrf_token")
        check_csrf(session, token if isinstance(token, str) else None)
        wait = runtime.client_limiter.acquire(f"client:{launch.client}")
        if wait:
            raise _Refused(429, f"Too many hand-ins at the moment; try again in {math.ceil(wait)} s.")
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise _Refused(422, "Choose a file to hand in.")
        filename = _filename(upload.filename)
        submission = await run_in_threadpool(Submission.from_upload, filename, upload.file)
    finally:
        await form.close()
    new = await run_in_threadpool(_checked, runtime, launch, submission)
    try:
        job_id, _ = await run_in_threadpool(
            runtime.store.accept, new, runtime.clock(), limit=runtime.resubmission_limit
        )
    except ResubmissionLimitReached as reached:
        raise _Refused(
            429,
            f"You have handed in {reached.limit.count} times within {_hours(reached.limit.window_seconds)};"
            f" the next hand-in is possible in {math.ceil(reached.wait_seconds / 60)} min.",
        ) from None
    await run_in_threadpool(runtime.store.remember_student, launch.client, new.assignment, new.student_id, launch.name)
    runtime.pool.wake()
    runtime.metrics.inc("grader_submissions_total", outcome="accepted")
    return job_id


def _filename(raw: str) -> str:
    """The upload's plain name, if it is a kind we grade (415 otherwise)."""
    try:
        filename = plain_filename(raw.replace("\\", "/").rsplit("/", 1)[-1])
    except ValueError as error:
        raise _Refused(422, "The file's name cannot be used.", [str(error)]) from None
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in KINDS:
        raise _Refused(415, "Hand in a .py file or a .ipynb notebook.", [f"{filename!r} is neither"])
    return filename


def _checked(runtime: Runtime, launch: Launch, submission: Submission) -> NewSubmission:
    """The submission to store, after the checks every intake makes; _Refused when it cannot be graded."""
    if submission.kind == "py" and len(submission.content) > MAX_BYTES:
        raise _Refused(413, f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; hand in only your code.")
    try:
        submission.check()
    except Rejected as error:
        raise _Refused(422, "This file cannot be graded.", [str(error)]) from None
    try:
        metadata = SubmissionMetadata(
            assignment=lti_views.assignment_key(launch), student_id=launch.user_id, lti=lti_views.lti_target(launch)
        )
        # The launch is the permission to hand in, so the webhook's list of assignment names does not apply.
        intake.check_allowed(
            intake.Intake(metadata, submission.name, submission.content),
            runtime.settings.clients[launch.client], accepted_assignments=[],
        )
    except ValidationError as error:
        raise _Refused(422, "This launch cannot hand in.", [str(error)]) from None
    except intake.Unacceptable as error:
        raise _Refused(error.status, "This file cannot be accepted.", error.errors) from None
    return NewSubmission(
        client=launch.client,
        webhook_id=f"lti_{uuid.uuid4().hex}",
        request_sha256=hashlib.sha256(submission.content).hexdigest(),
        assignment=metadata.assignment,
        student_id=metadata.student_id,
        filename=submission.name,
        content=submission.content,
        content_sha256=hashlib.sha256(submission.content).hexdigest(),
        callback_url=None,
        lti=metadata.lti.model_dump() if metadata.lti else None,
    )


async def _visible_job(runtime: Runtime, launch: Launch, job_id: str) -> dict[str, Any] | None:
    """The job's status if this launch may see it; None for a missing job and for anyone else's alike."""
    found = await run_in_threadpool(runtime.store.job_status, job_id, client=launch.client)
    if found is None or not lti_views.may_see(launch, found["job"]):
        return None
    return found


async def _latest(runtime: Runtime, launch: Launch) -> list[dict[str, Any]]:
    """Each student's latest attempt at the launch's resource link, labelled with their name."""
    rows = await run_in_threadpool(runtime.store.latest_attempts, launch.client, lti_views.assignment_key(launch))
    return [{**row, "label": lti_views.student_label(row["name"], row["student_id"])} for row in rows]


@functools.cache
def _assignment() -> Assignment:
    return load_assignment()


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{math.ceil(seconds / 60)} min"


def _page(
    runtime: Runtime, request: Request, session: Session, template: str, *, status: int = 200, **context: Any
) -> Response:
    html = _templates.get_template(template).render(
        launch=session.launch, csrf_token=session.csrf_token, here=request.url.path,
        url=functools.partial(session_url, session), **context,
    )
    return HTMLResponse(html, status_code=status, headers=_headers(runtime, session.launch))


def _problem(runtime: Runtime, request: Request, session: Session, status: int, message: str) -> Response:
    return _page(runtime, request, session, "problem.html", status=status, message=message)


def _headers(runtime: Runtime, launch: Launch) -> dict[str, str]:
    """No scripts, no network, framed only by the launching platform; never cached, never a Referer.

    The Referer and the cache are closed because a page's URL may carry its session.
    """
    ancestors = " ".join(["'self'", *_platform_origins(runtime, launch)])
    return {
        "content-security-policy": (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none';"
            f" frame-ancestors {ancestors}"
        ),
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
    }


def _platform_origins(runtime: Runtime, launch: Launch) -> list[str]:
    """The origins the platform serves its pages from: its issuer's and its configured ones."""
    origins = []
    try:
        origins.append(str(egress.parse_url(launch.issuer)))
    except egress.EgressRefused:
        pass
    platform = runtime.settings.clients[launch.client].lti
    if platform is not None:
        origins += [origin for origin in platform.origins if origin not in origins]
    return origins
