"""A Celery app from the `GRADER_*` environment, for Celery's own tools (`celery -A grader.queue.app ...`).

`celery -A grader.queue.app inspect ping` lists the live workers, `... inspect active` their
running jobs; workers themselves start with `grade worker`.
"""

from grader.queue.settings import QueueSettings
from grader.queue.tasks import make_app

app = make_app(QueueSettings())
