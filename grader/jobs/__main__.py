"""`python -m grader.jobs`: the same as `grade worker`."""

from grader.jobs.command import worker_command

if __name__ == "__main__":
    worker_command()
