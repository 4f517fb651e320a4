"""The link between a portal account and its Patient record, sealed.

The users table holds a person's email in clear (sign-in looks it up). Next to
it a Patient id in clear would tell anyone holding the database file which
record is whose: from the id, every version of that record, its blind indexes
(equal to another patient's code, say) and its place in the audit trail. So the
Patient id is sealed with its own data key (AES-256-GCM, associated data
``user/{id}/patient``) and opened only when the account acts: the web layer
puts it in a patient's `Caller` when it builds one for a request. Nothing ever looks an account up
by its Patient id, so no blind index is needed.

Accounts linked before revision 0009 hold the id in the legacy clear column
until `seal_patient_links` (run at start-up) seals it and clears the column.
"""

from __future__ import annotations

from sqlalchemy import select

from carewall.core.context import Origin
from carewall.core.crypto import decrypt, encrypt
from carewall.core.runtime import Runtime
from carewall.identity.events import audit
from carewall.identity.models import User
from carewall.identity.tags import IdentityTag as Tag

PATIENT_LINK_KEY = "identity-patient-link"
#: Where start-up work comes from: no request, no address.
STARTUP = Origin(ip="", user_agent="startup")


def _aad(user_id: str) -> bytes:
    return f"user/{user_id}/patient".encode()


def seal_patient_id(key: bytes, user_id: str, patient_id: str) -> bytes:
    """Encrypt an account's Patient id, bound to the account."""
    return encrypt(key, patient_id.encode(), _aad(user_id))


def open_patient_id(key: bytes, user: User) -> str | None:
    """The account's Patient id (None when it has none)."""
    if user.patient_id_sealed is None:
        return user.legacy_patient_id
    return decrypt(key, user.patient_id_sealed, _aad(user.id)).decode()


def patient_id_of(runtime: Runtime, user_id: str) -> str | None:
    """The Patient logical id a portal account is linked to (None for staff or unlinked).

    The web layer puts it in a patient's `Caller`, so a patient's session or token
    reaches only that patient's compartment.
    """
    key = runtime.keys.data_key(PATIENT_LINK_KEY)  # before the session: it may create it
    with runtime.db.sessions() as session:
        user = session.get(User, user_id)
        return None if user is None else open_patient_id(key, user)


def seal_patient_links(runtime: Runtime, batch: int = 200) -> int:
    """Seal Patient ids stored in clear before revision 0009; returns how many.

    Run at start-up after migrating (a migration has no key). Each batch seals
    and clears its rows in one transaction with its audit entry, so an
    interrupted run resumes at the next start.
    """
    key = runtime.keys.data_key(PATIENT_LINK_KEY)
    pending = (
        select(User)
        .where(User.legacy_patient_id.is_not(None), User.patient_id_sealed.is_(None))
        .limit(batch)
        .with_for_update(skip_locked=True)  # PostgreSQL: several workers share the work
    )
    done = 0
    while True:
        with runtime.db.transaction() as session:
            users = list(session.scalars(pending))
            for user in users:
                assert user.legacy_patient_id is not None
                user.patient_id_sealed = seal_patient_id(key, user.id, user.legacy_patient_id)
                user.legacy_patient_id = None
            if users:
                audit(session, Tag.LINKS_SEALED, STARTUP, actor="system", count=len(users))
        done += len(users)
        if len(users) < batch:
            return done
