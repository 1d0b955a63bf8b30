"""`python -m grader.service`: run the service with settings from the environment / config file."""

import sys

from grader.errors import GraderError
from grader.service import load_settings, serve

if __name__ == "__main__":  # not when a grading process (spawned) loads the main module
    try:
        serve(load_settings())
    except GraderError as error:
        sys.exit(f"grader service: {error}")
