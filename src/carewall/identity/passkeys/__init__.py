"""Passkeys and security keys (WebAuthn): registration, second factor, step-up, passwordless.

Each ceremony is two requests: `begin_*` stores a random challenge (single-use,
five minutes) and returns the options for `navigator.credentials.create/get`;
`finish_*` takes the challenge back (deleting it whatever happens) and checks
the browser's answer with py_webauthn. Verification failures are throttled and
audited like wrong TOTP codes, and committed before the error is raised.

The signature counter is checked here rather than in py_webauthn so that a
regression can be told apart from other failures: it means two copies of the
key may exist, so the sign-in is refused, audited and reported to the admins.
"""

from carewall.identity.passkeys.assertion import (
    begin_login,
    begin_second_factor,
    begin_step_up,
    finish_login,
    finish_second_factor,
    finish_step_up,
)
from carewall.identity.passkeys.ceremony import (
    CHALLENGE_TTL,
    GENERIC_PASSKEY_FAILURE,
    Ceremony,
    PasskeyCeremonyError,
    PasskeyUnavailableError,
    Purpose,
    RelyingParty,
    expected_origin,
    relying_party,
    sign_count_regressed,
)
from carewall.identity.passkeys.registration import begin_registration, finish_registration

__all__ = [
    "CHALLENGE_TTL",
    "GENERIC_PASSKEY_FAILURE",
    "Ceremony",
    "PasskeyCeremonyError",
    "PasskeyUnavailableError",
    "Purpose",
    "RelyingParty",
    "begin_login",
    "begin_registration",
    "begin_second_factor",
    "begin_step_up",
    "expected_origin",
    "finish_login",
    "finish_registration",
    "finish_second_factor",
    "finish_step_up",
    "relying_party",
    "sign_count_regressed",
]
