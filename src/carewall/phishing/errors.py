"""Errors of the phishing domain, with the status the web layer answers with."""

from __future__ import annotations

from carewall.core.errors import CarewallError

#: Largest message accepted for analysis or reporting. Real mail with attachments
#: rarely passes 10 MB (most providers cap at 20-25 MB including encoding overhead).
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class MessageTooLargeError(CarewallError):
    """A message over MAX_MESSAGE_BYTES: refused before it is parsed."""

    code = "message_too_large"
    status = 413

    def __init__(self) -> None:
        super().__init__(
            f"That message is larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB. "
            "Save it without attachments, or forward it to the security officer."
        )


class EmptyMessageError(CarewallError):
    """Nothing was uploaded or pasted."""

    code = "message_empty"
    status = 422

    def __init__(self) -> None:
        super().__init__("Choose an .eml file or paste the message source.")


def check_message_size(raw: bytes) -> bytes:
    """Return ``raw`` when it is acceptable for analysis; raise otherwise."""
    if not raw.strip():
        raise EmptyMessageError
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError
    return raw
