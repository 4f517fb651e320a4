"""The JSON form of an alert (`GET /api/v1/alerts`, `carewall alerts list --json`).

Stable interface: `id`, `detector`, `severity`, `status`, `user`, `created`;
further fields may be added, never renamed.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from carewall.alerts.models import Alert


class AlertPublic(BaseModel):
    """One alert as scripts see it."""

    id: str
    detector: str
    severity: str
    status: str
    user: str
    created: datetime
    title: str
    resolution: str | None = None
    assignee: str | None = None
    entries: list[int] = []

    @classmethod
    def of(cls, alert: Alert) -> AlertPublic:
        """From the table row."""
        return cls(
            id=alert.id,
            detector=alert.detector,
            severity=alert.severity,
            status=alert.status,
            user=alert.user_ref,
            created=alert.created_at,
            title=alert.title,
            resolution=alert.resolution,
            assignee=alert.assignee,
            entries=[int(s) for s in alert.seqs],
        )
