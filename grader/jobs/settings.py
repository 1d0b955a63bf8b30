"""Configuration of the Celery queue, shared by workers and by the processes that send jobs.

Environment variables prefixed `GRADER_` (as the service's settings); the worker's command-line
options override them. Every process of one deployment must agree on the visibility timeout:
whichever process sweeps Redis for unacknowledged tasks applies its own value.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.jobs.grading import DEFAULT_GRADE_FUNCTION
from grader.jobs.base import DEFAULT_BROKER_URL
from grader.sandbox import require_sandbox

class QueueSettings(BaseSettings):
    """Every knob of the Celery/Redis queue; see docs/deployment.md for how they were chosen."""

    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore")

    broker_url: str = Field(default=DEFAULT_BROKER_URL, description="Redis URL of the task queue.")
    result_backend_url: str | None = Field(default=None, description="Redis URL of task results; default: the broker.")
    queue_name: str = Field(default="grader", description="Celery queue that grading tasks go to.")
    grade_timeout_cap_seconds: float = Field(
        default=50.0, gt=0, description="Longest sandbox wall time a worker grants a job (asked-for timeouts are capped)."
    )
    visibility_timeout_seconds: float = Field(
        default=120.0, description="Seconds before Redis hands an unacknowledged task to another worker."
    )
    restore_interval_seconds: float = Field(
        default=10.0, gt=0, description="How often each worker looks for tasks whose worker vanished."
    )
    task_max_attempts: int = Field(
        default=3, ge=1, description="Runs of one job (retries and redeliveries together) before it ends internal_error."
    )
    task_retry_backoff_seconds: float = Field(
        default=2.0, ge=0, description="Delay before the first retry after a grader error; doubles per retry."
    )
    sandbox_wait_seconds: float = Field(
        default=30.0, gt=0,
        description="How long a task waits for a sandbox outage to end before it requeues itself "
                    "(at most half grade_timeout_cap_seconds, so waiting and grading fit in the task time limit).",
    )
    result_expires_seconds: int = Field(default=86400, gt=0, description="How long Redis keeps a finished job's result.")
    grade_function: str = Field(default=DEFAULT_GRADE_FUNCTION, description="`module:function` the worker grades with.")

    @property
    def task_sandbox_wait_seconds(self) -> float:
        """The wait a task may spend on a sandbox outage: the wait plus the sandbox's cap stay under the time limit."""
        return min(self.sandbox_wait_seconds, self.grade_timeout_cap_seconds / 2)

    @property
    def time_limit_seconds(self) -> float:
        """Hard limit of one task: the sandbox's wall time plus as much again for start, scoring and cleanup."""
        return 2 * self.grade_timeout_cap_seconds

    @model_validator(mode="after")
    def _visibility_outlasts_grading(self) -> QueueSettings:
        # A task still running when its visibility timeout ends is handed to a second worker.
        if self.visibility_timeout_seconds <= self.time_limit_seconds:
            raise ValueError(
                f"visibility_timeout_seconds ({self.visibility_timeout_seconds:g}) must exceed the task time limit, "
                f"twice grade_timeout_cap_seconds ({self.time_limit_seconds:g})"
            )
        return self

    @property
    def results_url(self) -> str:
        """Where task results live."""
        return self.result_backend_url or self.broker_url


class WorkerSettings(QueueSettings):
    """The queue's settings plus the sandbox a `grade worker` grades in; senders never grade, so need neither."""

    grade_backend: str = Field(default="docker", description="Sandbox the worker grades in.")
    unsafe_no_sandbox: bool = Field(
        default=False, description="Allow grade_backend = 'process', which is NOT a sandbox (trusted code only)."
    )

    @model_validator(mode="after")
    def _sandboxed_unless_unsafe(self) -> WorkerSettings:
        require_sandbox(self.grade_backend, unsafe_no_sandbox=self.unsafe_no_sandbox)
        return self
