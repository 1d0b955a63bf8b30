"""The grader's version, as installed: every report names it, and batch resumes only reports of the same one."""

import importlib.metadata

try:
    GRADER_VERSION = importlib.metadata.version("grader")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    GRADER_VERSION = "0.0.0+source"
