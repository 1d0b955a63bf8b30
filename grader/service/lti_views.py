"""What the LTI pages show, as pure functions of a launch and stored rows.

Which jobs a launch may see, the assignment a resource link grades into, the feedback of a
stored report and the gradebook state of a job. The pages (grader.service.lti_pages) only
fetch rows and render these.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from grader.batch.failures import case_failures
from grader.report import Report
from grader.service.lti_launch import Launch

ASSIGNMENT_PREFIX = "lti:"

GRADEBOOK_STATES = {
    "pending": "being sent to your course's gradebook",
    "delivered": "in your course's gradebook",
    "failed": "could not be sent to your course's gradebook; your teacher can see the score here",
    "disabled": "could not be sent to your course's gradebook; your teacher can see the score here",
    "none": "not sent: this link of your course has no gradebook column",
    "held": "not sent: the grader failed on this submission, and a person will look at it",
}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def context_prefix(launch: Launch) -> str:
    """The start of every assignment of the launch's course on its platform."""
    return f"{ASSIGNMENT_PREFIX}{_digest(launch.issuer, launch.context_id)}/"


def assignment_key(launch: Launch) -> str:
    """The assignment a resource link's hand-ins are stored under: `lti:<course>/<link>`.

    Digests of (issuer, context) and (issuer, context, resource link), so the key fits the
    200-character assignment field whatever the platform's ids, two platforms' ids never meet,
    and a course's assignments share a prefix that the staff's view selects by.
    """
    return context_prefix(launch) + _digest(launch.issuer, launch.context_id, launch.resource_link_id)


def may_see(launch: Launch, job: Mapping[str, Any]) -> bool:
    """Whether the user of `launch` may see `job` (a stored job row with client, assignment, student_id).

    A student: only their own jobs of this resource link. Staff: every job of the course they
    launched from. Never another client's.
    """
    if job["client"] != launch.client:
        return False
    if launch.staff:
        return str(job["assignment"]).startswith(context_prefix(launch))
    return job["assignment"] == assignment_key(launch) and job["student_id"] == launch.user_id


def lti_target(launch: Launch) -> dict[str, str] | None:
    """The job's LTI metadata, through which the delivery path publishes its AGS score."""
    if launch.lineitem_url is None:
        return None
    return {"lineitem_url": launch.lineitem_url, "user_id": launch.user_id}


def gradebook_state(result_status: str | None, deliveries: Sequence[Mapping[str, Any]], held_status: str) -> str | None:
    """A key of GRADEBOOK_STATES for a finished job; None while it is being graded."""
    if result_status is None:
        return None
    if result_status == held_status:
        return "held"
    for delivery in deliveries:
        if delivery["kind"] == "lti":
            return str(delivery["state"])
    return "none"


@dataclasses.dataclass(frozen=True)
class FunctionFeedback:
    """One graded function as the feedback page shows it."""

    name: str
    score: float
    max_score: float
    passed: bool
    diagnosis: str | None
    failures: list[str]


@dataclasses.dataclass(frozen=True)
class Feedback:
    """The stored report, reduced to what a student reads; nothing is added to it."""

    status: str
    message: str
    score: float
    max_score: float
    functions: list[FunctionFeedback]
    load_errors: list[str]


def feedback(stored: Mapping[str, Any]) -> Feedback | None:
    """The feedback of a stored report, or None when it is no grader report (e.g. a held job's)."""
    try:
        report = Report.model_validate(stored)
    except ValidationError:
        return None
    functions = []
    for name, result in report.functions.items():
        # Messages as the report holds them: a hidden case's never quotes its expected values.
        failures = [
            f"{case.id} ({case.visibility}): {message}"
            for case in result.cases
            if not case.passed
            for message in case_failures(case)
        ]
        diagnosis = result.primary.sentence if result.primary is not None else None
        functions.append(FunctionFeedback(name, result.score, result.max_score, result.passed, diagnosis, failures))
    return Feedback(report.status, report.message, report.score, report.max_score, functions, report.load_errors)


def student_label(name: str | None, student_id: str) -> str:
    """How the class view names a student: the platform's name, then its id (two students may share a name)."""
    return f"{name} ({student_id})" if name else student_id


def reports(latest: Sequence[Mapping[str, Any]]) -> dict[str, Report]:
    """The grader reports among students' latest results, by student label, for the class summary."""
    found = {}
    for row in latest:
        if row["report"] is None:
            continue
        try:
            found[student_label(row["name"], row["student_id"])] = Report.model_validate(row["report"])
        except ValidationError:
            continue
    return found
