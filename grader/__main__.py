"""`python -m grader` is the `grade` command."""

from grader.launch import run

run()
