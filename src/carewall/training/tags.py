"""Audit tags of awareness training and the staff directory."""

from enum import StrEnum


class TrainingTag(StrEnum):
    """What happens to the staff directory, assignments, quizzes and learner links."""

    STAFF_ADDED = "training:staff:added"
    STAFF_UPDATED = "training:staff:updated"
    STAFF_IMPORTED = "training:staff:imported"
    GROUP_CREATED = "training:group:created"
    GROUP_CHANGED = "training:group:changed"
    ASSIGNMENT_CREATED = "training:assignment:created"
    ASSIGNMENT_COMPLETED = "training:assignment:completed"
    QUIZ_SUBMITTED = "training:quiz:submitted"
    LINK_SENT = "training:link:sent"
    LINK_REFUSED = "training:link:refused"
    REMINDER_SENT = "training:reminder:sent"
    CERTIFICATE_ISSUED = "training:certificate:issued"
