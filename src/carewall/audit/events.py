"""What an audit entry says, and its canonical byte form.

The stored `body` of an entry is the previous entry's SHA-256 followed by the
canonical JSON below; the entry's hash is SHA-256 of that body. Putting the
previous hash at a fixed offset lets verification check the link with a slice
comparison, which keeps it close to the speed of hashing alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from carewall.core.context import Caller, Origin

HASH_BYTES = 32
GENESIS_HASH = bytes(HASH_BYTES)
_MAX_DETAIL_TEXT = 500
MAX_ACTOR = 120
MAX_SUBJECT = 200

DetailValue = str | int | float | bool | None | list[str] | list[int]


class Outcome(StrEnum):
    """How the audited action ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened, described without PHI values.

    `details` holds identifiers, counts, reason codes and resource types, never
    names, birth dates or clinical values: entries are shown to auditors, who
    see no PHI.
    """

    action: str
    outcome: Outcome = Outcome.SUCCESS
    actor: str = "system"
    subject: str = ""
    source_ip: str = ""
    user_agent: str = ""
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if action_parts(self.action) != 3:
            raise ValueError(f"audit action {self.action!r} is not 'domain:subject:action'")
        if len(self.actor) > MAX_ACTOR or len(self.subject) > MAX_SUBJECT:
            raise ValueError("audit actor or subject is too long")
        for key, value in self.details.items():
            if isinstance(value, str) and len(value) > _MAX_DETAIL_TEXT:
                raise ValueError(f"audit detail {key!r} is longer than {_MAX_DETAIL_TEXT}")

    @classmethod
    def by(
        cls,
        caller: Caller,
        action: str,
        subject: str = "",
        details: Mapping[str, DetailValue] | None = None,
        outcome: Outcome = Outcome.SUCCESS,
    ) -> AuditEvent:
        """An event done by `caller`: its audit reference as actor, its origin."""
        return cls(
            action=action,
            outcome=outcome,
            actor=caller.ref,
            subject=subject,
            source_ip=caller.origin.ip,
            user_agent=caller.origin.user_agent[:300],
            details=details or {},
        )

    def from_origin(self, origin: Origin) -> AuditEvent:
        """The same event carrying `origin` (for an event built away from the request)."""
        return dataclasses.replace(self, source_ip=origin.ip, user_agent=origin.user_agent[:300])


def action_parts(action: str) -> int:
    """How many non-empty colon-separated parts a tag has (3 is valid)."""
    parts = action.split(":")
    return len(parts) if all(parts) else 0


def canonical_body(seq: int, ts: datetime, event: AuditEvent, prev_hash: bytes) -> bytes:
    """The exact bytes that are hashed and stored for an entry."""
    payload: dict[str, Any] = {
        "seq": seq,
        "ts": ts.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "outcome": str(event.outcome),
        "subject": event.subject,
        "ip": event.source_ip,
        "ua": event.user_agent[:300],
        "details": dict(event.details),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return prev_hash + text.encode("utf-8")


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON part of a stored body (raises ValueError when it is not JSON)."""
    parsed = json.loads(body[HASH_BYTES:].decode("utf-8"))
    if not isinstance(parsed, dict):
        raise ValueError("audit body is not a JSON object")
    return parsed
