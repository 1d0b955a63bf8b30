"""Turning a verified request body into a submission to store, or a clear reason why not.

The file is read by `Submission.from_upload`, the same rules as `grade` and `grade batch`:
a notebook is stored without its outputs and metadata, and one that cannot be read is
refused here (422, the student's reason in `errors`) since nothing of it could be graded.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from grader.service import egress
from grader.service.schemas import JsonSubmission, SubmissionMetadata, plain_filename
from grader.service.settings import ClientSettings
from grader.submission import Rejected, Submission


class Unacceptable(Exception):
    """A request we understand but refuse; `errors` lists each problem for the sender."""

    def __init__(self, detail: str, errors: list[str] | None = None, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.status = status


@dataclasses.dataclass(frozen=True)
class Intake:
    """A parsed submission: its metadata and the file."""

    metadata: SubmissionMetadata
    filename: str
    content: bytes


def parse_json(body: bytes) -> Intake:
    """Parse an `application/json` submission."""
    try:
        parsed = JsonSubmission.model_validate_json(body)
    except ValidationError as error:
        raise Unacceptable("the submission JSON is not valid", _messages(error)) from None
    if parsed.source is not None:
        content = parsed.source.encode()
    else:
        try:
            content = base64.b64decode(parsed.source_base64 or "", validate=True)
        except binascii.Error:
            raise Unacceptable("source_base64 is not valid base64") from None
    metadata = SubmissionMetadata.model_validate(parsed.model_dump(include=set(SubmissionMetadata.model_fields)))
    return _intake(metadata, parsed.filename, io.BytesIO(content))


async def parse_multipart(scope: dict[str, Any], body: bytes) -> Intake:
    """Parse a `multipart/form-data` submission: a `metadata` JSON part and a `file` part."""
    request = Request(scope, receive=_replay(body))
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as error:
        raise Unacceptable(f"the multipart body could not be parsed: {error}") from None
    try:
        file = form.get("file")
        raw_metadata = form.get("metadata")
        if not isinstance(file, UploadFile):
            raise Unacceptable("a multipart submission needs a 'file' part with a filename")
        if raw_metadata is None:
            raise Unacceptable("a multipart submission needs a 'metadata' part with JSON")
        if isinstance(raw_metadata, UploadFile):
            raw_metadata = (await raw_metadata.read()).decode(errors="replace")
        try:
            metadata = SubmissionMetadata.model_validate(json.loads(raw_metadata))
        except (ValueError, ValidationError) as error:
            errors = _messages(error) if isinstance(error, ValidationError) else [str(error)]
            raise Unacceptable("the 'metadata' part is not valid", errors) from None
        try:
            filename = plain_filename(file.filename or "")
        except ValueError as error:
            raise Unacceptable(str(error)) from None
        if not filename:
            raise Unacceptable("the 'file' part needs a filename")
        # Parsing a notebook of tens of MB takes a moment: not on the event loop.
        return await run_in_threadpool(_intake, metadata, filename, file.file)
    finally:
        await form.close()


def _intake(metadata: SubmissionMetadata, filename: str, stream: BinaryIO) -> Intake:
    """The file as it will be graded; an unreadable notebook is refused with the student's reason."""
    submission = Submission.from_upload(filename, stream)
    if submission.kind == "ipynb":
        try:
            submission.check()
        except Rejected as error:
            raise Unacceptable("the notebook cannot be graded", [str(error)]) from None
    return Intake(metadata, filename, submission.content)


def check_allowed(
    intake: Intake, client: ClientSettings, *, accepted_assignments: list[str]
) -> None:
    """Refuse what this client or this service is not set up for."""
    metadata = intake.metadata
    errors = []
    if accepted_assignments and metadata.assignment not in accepted_assignments:
        errors.append(f"assignment: {metadata.assignment!r} is not graded here")
    if metadata.callback_url:
        if client.callback_secret is None:
            errors.append("callback_url: this client has no callback_secret configured")
        errors += _origin_problems("callback_url", metadata.callback_url, client.callback_origins, "callback_origins")
    if metadata.lti:
        if client.lti is None:
            errors.append("lti: this client has no LTI platform configured")
        else:
            errors += _origin_problems("lti.lineitem_url", metadata.lti.lineitem_url, client.lti.origins, "lti.origins")
    if not intake.content:
        errors.append("the submitted file is empty")
    if errors:
        raise Unacceptable("the submission cannot be accepted", errors)


def _origin_problems(field: str, url: str, origins: list[str], setting: str) -> list[str]:
    """Why `url` may not be sent to, if it may not: the client's configured origins are the only ones."""
    if not origins:
        return [f"{field}: this client has no {setting} configured"]
    try:
        egress.check_url(url, origins)
    except egress.EgressRefused as refused:
        return [f"{field}: {refused} ({setting})"]
    return []


def _messages(error: ValidationError) -> list[str]:
    """One readable line per problem, e.g. "student_id: Field required"."""
    lines = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        lines.append(f"{where}: {item['msg']}")
    return lines


def _replay(body: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    """An ASGI receive callable that yields the already-read body once."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
