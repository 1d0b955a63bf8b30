"""The grader's exceptions: one small hierarchy, each ending as a report status or a CLI message.

The commands print a GraderError's message (no traceback) and exit with the code `grade --help` lists.
"""


class GraderError(Exception):
    """Base class: something the grader itself could not do."""


class AssignmentError(GraderError):
    """The case files, reference or generated outputs are missing or inconsistent."""


class SandboxUnavailable(GraderError):
    """The chosen sandbox backend cannot run here (no daemon, missing image, missing tool)."""


class SandboxOutage(SandboxUnavailable):
    """The sandbox is set up but does not answer or cannot be used right now: our outage, never a grade.

    Raised by a backend for a daemon that does not answer, an image that is gone, a container that
    could not be created or started, or a daemon that died mid-run. Callers wait it out (see
    `grader.sandbox.health`) and grade the submission again; nothing the submission does raises it.
    """


class ChecksDidNotRun(GraderError):
    """pytest could not run the comparison of a submission's outputs: the grader's failure, never the student's."""


class DatabaseInUse(GraderError):
    """Another live service process owns the database."""


class DatabaseUnusable(GraderError):
    """The service's database cannot be opened, created or read as one."""
