"""The grader's exceptions: one small hierarchy, each ending as a report status or a CLI message."""


class GraderError(Exception):
    """Base class: something the grader itself could not do."""


class AssignmentError(GraderError):
    """The case files, reference or generated outputs are missing or inconsistent."""


class SandboxUnavailable(GraderError):
    """The chosen sandbox backend cannot run here (no daemon, missing image, missing tool)."""


class SandboxOutputError(GraderError):
    """What came back from the sandbox is not valid plain data."""
