"""`python -m grader` is the `grade` command."""

from grader.launch import run

if __name__ == "__main__":  # not when a grading process (spawned) loads the main module
    run()
