"""Who sees which job, where a resource link's hand-ins go, and what the feedback page shows."""

from __future__ import annotations

import dataclasses

from grader.assignment import load_assignment
from grader.batch.inputs import Absent
from grader.batch.run import absent_report
from grader.report import FunctionResult
from grader.service.lti_views import assignment_key, context_prefix, feedback, gradebook_state, lti_target, may_see
from tests.service.test_lti_pages import launch

COST = "compute_cost_with_regularization"


def _job(owner, **changes):
    return {"client": owner.client, "assignment": assignment_key(owner), "student_id": owner.user_id} | changes


def test_the_assignment_key_fits_the_assignment_field_whatever_the_platforms_ids():
    key = assignment_key(launch(context="c" * 1000, link="l" * 1000))
    assert len(key) <= 200 and key.startswith(context_prefix(launch(context="c" * 1000)))


def test_ids_that_only_differ_in_where_a_separator_falls_get_different_keys():
    assert assignment_key(launch(context="a|b", link="c")) != assignment_key(launch(context="a", link="b|c"))


def test_a_student_sees_their_own_job_of_this_link():
    assert may_see(launch(), _job(launch()))


def test_a_student_does_not_see_another_students_job():
    assert not may_see(launch("student-2"), _job(launch("student-1")))


def test_a_student_does_not_see_their_own_job_of_another_link():
    assert not may_see(launch(link="link-2"), _job(launch(link="link-1")))


def test_staff_see_every_job_of_their_course():
    assert may_see(launch("t", staff=True, link="link-9"), _job(launch("student-1", link="link-1")))


def test_staff_do_not_see_another_courses_jobs():
    assert not may_see(launch("t", staff=True, context="course-2"), _job(launch("student-1")))


def test_nobody_sees_another_clients_job():
    assert not may_see(launch("t", staff=True, client="other"), _job(launch("student-1")))


def test_the_same_course_id_on_another_platform_is_another_course():
    elsewhere = dataclasses.replace(launch("t", staff=True), issuer="https://other-platform.example")
    assert not may_see(elsewhere, _job(launch("student-1")))


def test_a_launch_without_a_line_item_publishes_no_score():
    assert lti_target(launch(lineitem_url=None)) is None
    assert lti_target(launch()) == {"lineitem_url": "http://localhost:9/lineitems/link-1", "user_id": "student-1"}


def test_the_gradebook_state_is_the_lti_deliverys():
    assert gradebook_state(None, [], "internal_error") is None
    assert gradebook_state("graded", [{"kind": "callback", "state": "failed"}, {"kind": "lti", "state": "delivered"}],
                           "internal_error") == "delivered"
    assert gradebook_state("graded", [], "internal_error") == "none"
    assert gradebook_state("internal_error", [], "internal_error") == "held"


def _report_with_hidden_failure():
    report = absent_report(load_assignment(), Absent("s", "x"))
    failing = FunctionResult.model_validate({
        "score": 1.0, "max_score": 3.0, "passed": False,
        "primary": {"kind": "mistake", "id": "l2-missing-half", "sentence": "Revisit the 1/2 of the L2 term."},
        "cases": [
            {"id": "cost-public", "visibility": "visible", "score": 1.0, "max_score": 1.0, "passed": True,
             "outputs": {"cost": {"scored": True, "points": 1.0, "score": 1.0, "passed": True, "message": "ok"}}},
            {"id": "cost-hidden", "visibility": "hidden", "score": 0.0, "max_score": 2.0, "passed": False,
             "outputs": {"cost": {"scored": True, "points": 2.0, "score": 0.0, "passed": False,
                                  "message": "cost is outside the tolerance"}}},
        ]})
    return report.model_copy(update={"status": "graded", "functions": {**report.functions, COST: failing}})


def test_feedback_names_the_diagnosis_and_what_failed_in_the_reports_own_words():
    shown = feedback(_report_with_hidden_failure().model_dump(mode="json"))
    [cost] = [function for function in shown.functions if function.name == COST]
    assert (cost.score, cost.max_score, cost.passed) == (1.0, 3.0, False)
    assert cost.diagnosis == "Revisit the 1/2 of the L2 term."
    assert cost.failures == ["cost-hidden (hidden): cost is outside the tolerance"]


def test_a_stored_result_that_is_no_grader_report_has_no_feedback():
    assert feedback({"status": "internal_error", "message": "a person will look at it"}) is None
