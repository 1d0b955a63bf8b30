"""`python -m grader.jobs`: the same as `grade worker`."""

from grader.jobs.command import worker_command

worker_command()
