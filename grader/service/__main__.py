"""`python -m grader.service`: run the service with settings from the environment / config file."""

import sys

from grader.errors import GraderError
from grader.service import load_settings, serve

try:
    serve(load_settings())
except GraderError as error:
    sys.exit(f"grader service: {error}")
