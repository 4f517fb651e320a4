"""Tables of the record vault: encrypted resource versions and their blind indexes.

What is stored in plain text, and why that is acceptable:

- `resource_type`, `logical_id`, `version_id`, `is_current`, `deleted`,
  `last_updated`: ids are random UUIDs and carry no clinical or identifying
  meaning; they are needed to address versions without decrypting.
- Everything else about a resource lives only in `ciphertext`: AES-256-GCM
  under the `records` data key, with `"{type}/{id}/{version}"` as associated
  data, so a ciphertext moved to another row (or version) fails to decrypt.

Blind indexes (`patient_ref`, `fhir_search_index.value_hmac`,
`content_mac`) are keyed HMAC-SHA256 under a separate `records-index` data
key, over normalised values prefixed with the resource type and parameter
name. The leakage trade-off, accepted for exact-match search:

- equal values are linkable: anyone with the database sees that two rows share
  a family name, birth date or code (not what it is), and how often each value
  occurs (frequency analysis is possible for very common values such as a
  frequent surname or a routine LOINC code);
- `patient_ref` reveals which resources belong to the same patient (not who);
- only exact matches work, except on names, which also carry prefix and
  Soundex terms (`records.terms`), and on dates (clinical dates and birth
  dates), which carry decade, year, month and day bucket terms so that ranges
  such as `birthdate=lt2000` are unions of buckets (`records.store.dates`;
  leakage of both in docs/threat-model.md): no fuzzy or order queries on
  encrypted values, which the FHIR API says in its CapabilityStatement.
Without the index key (which is wrapped by the master key) none of the HMACs
can be reversed or tested against guesses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id

HMAC_HEX = 64


class FhirResource(Base):
    """One version of one resource; the newest version has `is_current` set."""

    __tablename__ = "fhir_resources"
    __table_args__ = (
        UniqueConstraint("resource_type", "logical_id", "version_id", name="uq_fhir_version"),
        Index("ix_fhir_current", "resource_type", "logical_id", "is_current"),
        Index("ix_fhir_patient_ref", "patient_ref", "is_current"),
        # `_lastUpdated` ranges and `_sort=_lastUpdated` (revision 0021).
        Index("ix_fhir_type_updated", "resource_type", "is_current", "last_updated"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    resource_type: Mapped[str] = mapped_column(String(64))
    logical_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime())
    patient_ref: Mapped[str | None] = mapped_column(String(HMAC_HEX))
    content_mac: Mapped[str | None] = mapped_column(String(HMAC_HEX))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)


class FhirSearchIndex(Base):
    """A blind index entry of the current version of a resource (one row per value)."""

    __tablename__ = "fhir_search_index"
    __table_args__ = (Index("ix_fhir_search_value", "value_hmac"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    resource_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("fhir_resources.id", ondelete="CASCADE"), index=True
    )
    param: Mapped[str] = mapped_column(String(32))
    value_hmac: Mapped[str] = mapped_column(String(HMAC_HEX))


class RestrictedCompartment(Base):
    """A patient compartment that staff open only through break-glass (VIP, staff, ...).

    The reason (behavioural health, employee, ...) is sealed (associated data
    `restricted/{patient_ref}`): only the fact of a restriction, which every
    staff read checks, is readable without the key.
    """

    __tablename__ = "restricted_compartments"

    patient_ref: Mapped[str] = mapped_column(String(HMAC_HEX), primary_key=True)
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: The clear reason of rows from before revision 0009, emptied at start-up.
    legacy_reason_code: Mapped[str] = mapped_column("reason_code", String(32), default="")
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BreakGlassGrant(Base):
    """A time-boxed emergency access of one user, in one browser session, to one restricted
    compartment.

    The free-text reason may contain clinical context, so it is encrypted like
    a record (associated data `break-glass/{id}`); the reason code is not.
    `channel` is the browser session that started it (`session:<id>`, see
    `Caller.channel`): the grant opens the compartment in that session only.
    Grants from before migration 0008 have none and open nothing.
    """

    __tablename__ = "break_glass_grants"
    __table_args__ = (Index("ix_break_glass_user_patient", "user_id", "patient_ref"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(64))
    patient_ref: Mapped[str] = mapped_column(String(HMAC_HEX))
    reason_code: Mapped[str] = mapped_column(String(32))
    reason_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(80))


class RecordsIndexTask(Base):
    """A re-derivation of blind indexes over every stored version, still to finish.

    Indexes derived from a resource's content (today `patient_ref`) need the
    key ring, which migrations do not have: a migration that changes how they
    are derived schedules a task here, and `records.store.reindex` works through
    `fhir_resources` in primary-key order after the runtime opens, remembering
    where it got to (`after`), so an interrupted run resumes.
    """

    __tablename__ = "records_index_tasks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    after: Mapped[str] = mapped_column(String(36), default="")
    examined: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)


class AccessFlagResolution(Base):
    """The security officer's decision on a patient's flag (an `records:access:flagged` entry).

    The flag itself is an audit entry (`flag_seq`); this row holds what the
    officer decided, for the officer's list and the patient's portal. Every
    decision is audited too (`records:flag:resolved`). The note to the patient
    may mention care, so it is sealed like a record (associated data
    `flag-note/{flag_seq}`).
    """

    __tablename__ = "access_flag_resolutions"

    flag_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(32))
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    resolved_by: Mapped[str] = mapped_column(String(64))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class BulkExport(Base):
    """One FHIR Bulk Data `$export` request, from kick-off to expiry.

    Everything here is plain by design: ids, types, times and counts, never a
    resource's content. `patient_id` is the Patient id of a `Patient/{id}/$export`
    (a random UUID, as in the vault's own columns). The caller's role, channel
    (session or token id) and origin are kept so that the queued task reads as
    the requester, with the requester's rights, and audits in their name.
    """

    __tablename__ = "bulk_exports"
    __table_args__ = (Index("ix_bulk_exports_status_expires", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(String(64))
    origin_ip: Mapped[str] = mapped_column(String(64), default="")
    origin_agent: Mapped[str] = mapped_column(String(300), default="")
    level: Mapped[str] = mapped_column(String(16))  # system | patients | patient | group
    patient_id: Mapped[str | None] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64))  # Group/{id}/$export
    type_filter: Mapped[str | None] = mapped_column(Text)  # JSON list of `_typeFilter`s
    types: Mapped[str] = mapped_column(String(4000))  # comma list, empty: every type allowed
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    request_url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16))  # queued|running|completed|failed|cancelled
    error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    transaction_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resources: Mapped[int] = mapped_column(Integer, default=0)
    patients: Mapped[int] = mapped_column(Integer, default=0)


class BulkExportFile(Base):
    """One NDJSON output file of an export, sealed under the `records-bulk` data key.

    Associated data `bulk/{export_id}/{file id}`: a file moved to another
    export or row does not decrypt. Deleted with its export's expiry or cancel.
    """

    __tablename__ = "bulk_export_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    export_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("bulk_exports.id", ondelete="CASCADE"), index=True
    )
    resource_type: Mapped[str] = mapped_column(String(64))
    part: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
