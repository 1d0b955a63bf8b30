"""Why the Docker sandbox cannot run right now, as subclasses of the grader's SandboxOutage.

Nothing a submission does raises these: a backend reports that in its RawRun.
"""

from grader.errors import SandboxOutage


class DaemonUnreachable(SandboxOutage):
    """The Docker daemon does not answer."""


class ImageMissing(SandboxOutage):
    """The sandbox image for this source tree has not been built (`make image`)."""
