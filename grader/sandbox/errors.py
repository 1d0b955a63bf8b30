"""Why the Docker sandbox cannot run here, as subclasses of the grader's SandboxUnavailable.

Nothing a submission does raises these: a backend reports that in its RawRun.
"""

from grader.errors import SandboxUnavailable


class DaemonUnreachable(SandboxUnavailable):
    """The Docker daemon does not answer."""


class ImageMissing(SandboxUnavailable):
    """The sandbox image for this source tree has not been built (`make image`)."""
