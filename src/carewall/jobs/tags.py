"""Audit tags of the job runner."""

from enum import StrEnum


class JobsTag(StrEnum):
    """Runs that changed something or failed; quiet no-op runs are only in the job tables."""

    RUN_COMPLETED = "jobs:run:completed"
    RUN_FAILED = "jobs:run:failed"
    TASK_ABANDONED = "jobs:task:abandoned"
