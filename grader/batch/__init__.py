"""Batch grading of a whole class: `grade_batch(INPUT, OUT)` behind `grade batch`.

INPUT is a folder, an LMS bulk-download zip or a CSV manifest; OUT receives one
report per student, a gradebook, JUnit XML, Gradescope results and a summary page.
"""

from grader.batch.inputs import BatchInputError, Discovered, Handin, discover
from grader.batch.queued import Executor, GradeJob, Graded, QueueExecutor
from grader.batch.run import BatchResult, grade_batch

__all__ = [
    "BatchInputError",
    "BatchResult",
    "Discovered",
    "Executor",
    "GradeJob",
    "Graded",
    "Handin",
    "QueueExecutor",
    "discover",
    "grade_batch",
]
