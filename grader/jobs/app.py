"""A Celery app from the `GRADER_*` environment, for Celery's own tools (`celery -A grader.jobs.app ...`).

`celery -A grader.jobs.app inspect ping` lists the live workers, `... inspect active` their
running jobs; workers themselves start with `grade worker`.
"""

from grader.jobs.settings import QueueSettings
from grader.jobs.tasks import make_app

app = make_app(QueueSettings())
