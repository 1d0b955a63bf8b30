"""`python -m grader.queue`: the same as `grade worker`."""

from grader.queue.command import worker_command

worker_command()
