"""What we send when a job ends: the callback body and the AGS score, built from the result.

Pure: the bytes are built once, stored with the result, and sent unchanged on every retry, so a
receiver that deduplicates by webhook-id sees the same message each time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from grader import strict_json
from grader.service import lti
from grader.service.store import HELD_STATUS, ClaimedJob, NewDelivery, Result

EVENT_TYPE = "grading.completed"
HELD_EVENT_TYPE = "grading.held"
"""The callback of a job the grader failed on: held for a person, carrying no score."""


def callback_body(job: ClaimedJob, result: Result, completed_at: dt.datetime) -> bytes:
    """The Standard Webhooks payload `{"type", "timestamp", "data"}` announcing a finished job."""
    data: dict[str, Any] = {
        "job_id": job.id,
        "client": job.client,
        "assignment": job.assignment,
        "student_id": job.student_id,
        "filename": job.filename,
        "submission_sha256": job.content_sha256,
        "status": result.status,
    }
    if result.status == HELD_STATUS:
        # Our failure is no claim about the work: no score, no report, only what a person will do.
        data["message"] = str(result.report.get("message", ""))
        event = {"type": HELD_EVENT_TYPE, "timestamp": _iso(completed_at), "data": data}
    else:
        data |= {"score": result.score, "max_score": result.max_score, "report": result.report}
        event = {"type": EVENT_TYPE, "timestamp": _iso(completed_at), "data": data}
    return strict_json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def plan_deliveries(job: ClaimedJob, result: Result, completed_at: dt.datetime) -> list[NewDelivery]:
    """The outbound messages a finished job owes: a callback and/or an AGS score (never for a held job)."""
    deliveries = []
    if job.callback_url:
        deliveries.append(NewDelivery("callback", job.callback_url, callback_body(job, result, completed_at)))
    if job.lti and result.status != HELD_STATUS:
        score = lti.score_body(
            user_id=job.lti["user_id"], status=result.status, score=result.score,
            max_score=result.max_score, timestamp=completed_at, comment=score_comment(result),
        )
        deliveries.append(NewDelivery("lti", lti.scores_url(job.lti["lineitem_url"]), strict_json.dumps(score).encode()))
    return deliveries


def score_comment(result: Result) -> str:
    """The gradebook comment: the score, then each function's ("8 / 10; compute_cost 2 / 2, ...").

    Scores only: the report's messages stay on our feedback page, where the hidden-case policy holds.
    """
    line = f"{result.score:g} / {result.max_score:g}"
    functions = result.report.get("functions")
    if isinstance(functions, dict) and functions:
        line += "; " + ", ".join(
            f"{name} {function.get('score', 0):g} / {function.get('max_score', 0):g}"
            for name, function in functions.items()
        )
    return line


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
