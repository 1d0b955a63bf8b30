"""The request and response bodies of the HTTP API, as pydantic models (and so the OpenAPI docs)."""

from __future__ import annotations

import copy
import urllib.parse
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _http_url(value: str | None) -> str | None:
    if value is None:
        return value
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


class LtiTarget(BaseModel):
    """Where an LTI-launched submission's score goes (from the launch's AGS claim)."""

    model_config = ConfigDict(extra="ignore")

    lineitem_url: str = Field(description="The line item URL of the launch's AGS claim.")
    user_id: str = Field(min_length=1, max_length=255, description="The LTI `sub` of the student.")

    _check_url = field_validator("lineitem_url")(_http_url)


class SubmissionMetadata(BaseModel):
    """What the LMS says about a submission; the `metadata` part of a multipart request."""

    model_config = ConfigDict(extra="forbid")

    assignment: str = Field(min_length=1, max_length=200, description="Assignment name, echoed back.")
    student_id: str = Field(min_length=1, max_length=255, description="The LMS's id of the student, echoed back.")
    callback_url: str | None = Field(default=None, description="Where the signed `grading.completed` goes.")
    lti: LtiTarget | None = Field(default=None, description="Publish the score with LTI AGS as well.")

    _check_url = field_validator("callback_url")(_http_url)


class JsonSubmission(SubmissionMetadata):
    """A submission posted as `application/json`: metadata plus the file's name and content."""

    filename: str = Field(min_length=1, max_length=255, description="The file's name, without directories.")
    source: str | None = Field(default=None, description="The file's content as text (UTF-8).")
    source_base64: str | None = Field(default=None, description="The file's content, base64-encoded.")

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return plain_filename(value)

    @model_validator(mode="after")
    def _one_source(self) -> JsonSubmission:
        if (self.source is None) == (self.source_base64 is None):
            raise ValueError("give exactly one of 'source' and 'source_base64'")
        return self


def plain_filename(value: str) -> str:
    """A file name without directories or control characters, as the sandbox expects."""
    if "/" in value or "\\" in value or value in (".", "..") or not value.isprintable():
        raise ValueError("filename must be a plain file name without directories")
    return value


class Accepted(BaseModel):
    """The answer to a stored submission (202) or to a replay of one (200)."""

    job_id: str
    status_url: str


class Problem(BaseModel):
    """An error answer."""

    detail: str
    errors: list[str] = Field(default_factory=list)


class DeliveryStatus(BaseModel):
    """One outbound message of a finished job."""

    id: str = Field(description="The `webhook-id` it is sent with; stable across retries.")
    kind: str = Field(description="'callback' or 'lti'.")
    url: str
    state: str = Field(description="'pending', 'delivered', 'failed' (gave up) or 'disabled' (410 Gone).")
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: float
    delivered_at: float | None


class JobStatus(BaseModel):
    """Where a submission's grading stands, with the report once done."""

    job_id: str
    state: str = Field(description="'queued', 'running' or 'done'.")
    status: str | None = Field(description="The report's status once done ('graded', 'error', 'timeout', ...).")
    assignment: str
    student_id: str
    filename: str
    submission_sha256: str
    attempts: int
    last_error: str | None = Field(description="Why the last grading attempt failed, for operators.")
    created_at: float
    finished_at: float | None
    score: float | None
    max_score: float | None
    report: dict[str, Any] | None
    deliveries: list[DeliveryStatus]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with `$defs` references inlined, for embedding in OpenAPI extras."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)
