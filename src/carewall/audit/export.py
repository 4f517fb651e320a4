"""Exporting the trail as FHIR R4 AuditEvent resources, one JSON object per line.

Each resource carries its entry's seq, hash and stored body, so the export
alone, with a signed checkpoint and the public key, can be verified on another
machine (`python -m carewall.audit.verify_offline`). The audit layer knows no
domain: a caller that can name what entries seal (records' patient ids) passes
`reveal`, which turns a parsed body into what the export shows; the hashed
body travels unchanged beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from sqlalchemy import select

from carewall.audit.events import parse_body
from carewall.audit.fhir import audit_event
from carewall.audit.models import AuditEntry
from carewall.core.db import Database

Reveal = Callable[[dict[str, Any]], dict[str, Any]]
_BATCH = 2_000


def export_fhir(
    db: Database,
    stream: TextIO,
    *,
    reveal: Reveal | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every entry, oldest first, to `stream`; returns how many were written."""
    count = 0
    with db.sessions() as session:
        rows = session.execute(
            select(AuditEntry.body, AuditEntry.entry_hash)
            .order_by(AuditEntry.seq)
            .execution_options(yield_per=_BATCH)
        )
        for body, entry_hash in rows:
            raw = bytes(body)
            shown = parse_body(raw)
            if reveal is not None:
                shown = reveal(shown)
            event = audit_event(shown, bytes(entry_hash), raw)
            stream.write(json.dumps(event, separators=(",", ":")) + "\n")
            count += 1
            if progress is not None and count % 500 == 0:
                progress(count)
    if progress is not None:
        progress(count)
    return count
