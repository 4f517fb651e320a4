"""Layer 2: accounts, passwords, second factors, sessions, throttling and API tokens.

Higher layers use identity through the names exported here and the modules'
service functions (`signin`, `accounts`, `factors`, `apitokens`, `queries`).
"""

from carewall.core.keystore import Keystore
from carewall.identity.factors import RECOVERY_KEY, TOTP_KEY
from carewall.identity.links import PATIENT_LINK_KEY
from carewall.identity.roles import ALL_ROLES, PERSON_ROLES, STAFF_ROLES, Role
from carewall.identity.sessions import ActiveSession, Stage
from carewall.identity.stepup import PENDING_KEY

__all__ = [
    "ALL_ROLES",
    "DATA_KEYS",
    "PERSON_ROLES",
    "STAFF_ROLES",
    "ActiveSession",
    "Role",
    "Stage",
    "prepare_keys",
]

# Data-key purposes identity uses (created up front by the registry).
DATA_KEYS = (TOTP_KEY, RECOVERY_KEY, PATIENT_LINK_KEY, PENDING_KEY)


def prepare_keys(keys: Keystore) -> None:
    """Create identity's data keys up front.

    A data key is created in its own transaction; doing that lazily inside a
    sign-in transaction would wait on itself under SQLite's single writer.
    """
    for purpose in DATA_KEYS:
        keys.data_key(purpose)
