"""grader: a sandboxed autograder for the numpy Regularization assignment.

The public API: `grade(submission)` returns a `Report`; `Submission.from_path`
reads a file; `load_assignment` reads the case files.
"""

from grader.assignment import Assignment, load_assignment
from grader.engine import GRADER_VERSION, grade
from grader.errors import AssignmentError, GraderError, SandboxUnavailable
from grader.report import Report, write_report
from grader.submission import Submission

__all__ = [
    "GRADER_VERSION",
    "Assignment",
    "AssignmentError",
    "GraderError",
    "Report",
    "SandboxUnavailable",
    "Submission",
    "grade",
    "load_assignment",
    "write_report",
]
