"""FHIR R4 validation with `fhir.resources.R4B` (wire-compatible with R4 for what we store).

Issues name the field path and the kind of problem but never echo the
offending value: an invalid birth date must not end up in a log or audit entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from carewall.records.errors import (
    AttachmentTooLargeError,
    Issue,
    RecordValidationError,
    UnsupportedResourceError,
)
from carewall.records.store.codes import code_issues
from carewall.records.store.primitives import wrong_types

# Re-exported: the type list is owned by `resource_types`, checked here.
from carewall.records.store.resource_types import SUPPORTED_TYPES as SUPPORTED_TYPES

DEFAULT_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# FHIR's id rule; an id of dots only is refused too: `.` and `..` are rewritten by
# every URL resolver, so no reference or path could name such a resource.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def is_fhir_id(value: object) -> bool:
    """Whether `value` is an id that a stored resource may have and a reference may name."""
    return (
        isinstance(value, str) and FHIR_ID.fullmatch(value) is not None and not set(value) <= {"."}
    )


# Elements of type Attachment in the stored types (DocumentReference.content.attachment,
# Media.content, Communication.payload.contentAttachment, Patient.photo, Contract's
# legallyBindingAttachment, ...) and in any extension, by element name: an element of
# that name with inline `data` is checked wherever it occurs. A unit test keeps this in
# step with the R4B models of every stored type.
ATTACHMENT_ELEMENTS = frozenset(
    {
        "attachment",
        "content",
        "contentAttachment",
        "defaultValueAttachment",
        "document",
        "fixedAttachment",
        "form",
        "image",
        "legallyBindingAttachment",
        "patternAttachment",
        "photo",
        "presentedForm",
        "sourceAttachment",
        "valueAttachment",
    }
)
SHA1_BYTES = 20


def check_attachments(resource: dict[str, Any], max_bytes: int) -> None:
    """Refuse attachments over `max_bytes` decoded (413), and data that is not base64 or
    that contradicts the attachment's own `size` or `hash` (base64 SHA-1) (422).

    Issues name the element (`DocumentReference.content[0].attachment.data`) and
    sizes, never content.
    """
    issues: list[Issue] = []
    for path, attachment in _attachments(resource, str(resource.get("resourceType"))):
        data = attachment["data"]
        clean = "".join(data.split())  # FHIR's base64Binary allows whitespace
        if _decoded_size(clean) > max_bytes:
            raise AttachmentTooLargeError(
                f"{path}.data is larger than the limit of {max_bytes} bytes.",
                [Issue("error", "too-long", f"{path}.data", f"larger than {max_bytes} bytes")],
            )
        issues.extend(_consistency(path, attachment, clean))
    if issues:
        paths = ", ".join(issue.expression for issue in issues[:5])
        raise RecordValidationError(f"Invalid attachment: {paths}", issues)


def _attachments(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, attachment) for every Attachment with inline `data`, contained resources too."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _attachments(item, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if not isinstance(value, dict | list):
            continue
        child = f"{path}.{key}"
        if key in ATTACHMENT_ELEMENTS:
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                at = f"{child}[{index}]" if isinstance(value, list) else child
                if isinstance(item, dict) and isinstance(item.get("data"), str):
                    yield at, item
        yield from _attachments(value, child)


def _decoded_size(data: str) -> int:
    """Bytes the base64 text decodes to (without decoding it)."""
    return len(data) * 3 // 4 - len(data[-2:]) + len(data[-2:].rstrip("="))


def _consistency(path: str, attachment: dict[str, Any], data: str) -> list[Issue]:
    """The data decodes, and matches `size` and `hash` when the sender gave them.

    FHIR fixes the hash as SHA-1: a check against mistakes (truncated uploads,
    mixed-up files), not a security boundary.
    """
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return [Issue("error", "value", f"{path}.data", "not valid base64")]
    issues = []
    size = attachment.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size != len(content):
        problem = f"says {size} bytes but the data has {len(content)}"
        issues.append(Issue("error", "value", f"{path}.size", problem))
    digest = attachment.get("hash")
    if isinstance(digest, str):
        try:
            given = base64.b64decode(digest, validate=True)
        except (binascii.Error, ValueError):
            given = b""
        if len(given) != SHA1_BYTES:
            issues.append(Issue("error", "value", f"{path}.hash", "not a base64 SHA-1 hash"))
        elif given != hashlib.sha1(content, usedforsecurity=False).digest():
            problem = "is not the SHA-1 of the data (the data was changed or cut short)"
            issues.append(Issue("error", "value", f"{path}.hash", problem))
    return issues


_BAD_ID = "must be 1 to 64 letters, digits, '-' or '.' (not only dots)"


@cache
def mandatory_elements(resource_type: str) -> frozenset[str]:
    """The top-level elements FHIR requires of `resource_type` (1..1 or 1..*), which a
    subsetted resource (`_elements`) keeps so that it still validates."""
    model = get_fhir_model_class(resource_type)
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if field.is_required()
        or (
            isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("element_required")
        )
    )


def validate_resource(
    resource: Any, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
) -> dict[str, Any]:
    """Check a resource against its R4 model; returns it unchanged (as JSON) when valid.

    Attachments are checked first (size limit, then `size` and `hash` against the
    data), so an oversized document is refused before the model parses it; then
    nulls and the JSON type of every primitive (`primitives`), which the model's
    lax validation would convert rather than refuse; last, the codes FHIR binds to a
    fixed list (`codes`), which the model names but does not check. Pass the configured
    `Settings.max_attachment_bytes`; the default is the default setting.
    """
    if not isinstance(resource, dict):
        raise RecordValidationError(
            "A resource must be a JSON object.",
            [Issue("error", "structure", "", "not a JSON object")],
        )
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise RecordValidationError(
            "The resource has no resourceType.",
            [Issue("error", "required", "resourceType", "missing")],
        )
    if resource_type not in SUPPORTED_TYPES:
        raise UnsupportedResourceError(
            f"{resource_type} resources are not supported.",
            [Issue("error", "not-supported", resource_type, "resource type not supported")],
        )
    if "id" in resource and not is_fhir_id(resource["id"]):
        raise RecordValidationError(
            f"Invalid {resource_type}: id",
            [Issue("error", "value", f"{resource_type}.id", _BAD_ID)],
        )
    check_attachments(resource, max_attachment_bytes)
    if (where := _first_null(resource, resource_type)) is not None:
        raise RecordValidationError(
            f"Invalid {resource_type}: {where}",
            [Issue("error", "structure", where, "null is not allowed in FHIR JSON; leave it out")],
        )
    if issues := wrong_types(resource, resource_type):
        # The models would convert these ("yes" to true, "3" to 3) and store them as sent.
        paths = ", ".join(issue.expression for issue in issues[:5])
        raise RecordValidationError(f"Invalid {resource_type}: {paths}", issues)
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except pydantic.ValidationError as exc:
        issues = [_issue(resource_type, error) for error in exc.errors(include_input=False)]
        paths = ", ".join(issue.expression for issue in issues[:5])
        raise RecordValidationError(f"Invalid {resource_type}: {paths}", issues) from None
    if issues := code_issues(resource, resource_type):
        paths = ", ".join(issue.expression for issue in issues[:5])
        raise RecordValidationError(f"Invalid {resource_type}: {paths}", issues)
    return resource


def _first_null(value: Any, path: str) -> str | None:
    """The path of the first `null`, which FHIR JSON forbids (the models accept it as absent).

    The one place null belongs is a primitive array whose items carry extensions
    in the `_name` sibling array (`"given": ["Ann", null], "_given": [null, {...}]`):
    there it keeps the two arrays aligned.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None:
                return f"{path}.{key}"
            aligned = key.startswith("_") or f"_{key}" in value
            if isinstance(item, list) and aligned:
                item = [element for element in item if element is not None]
            if (found := _first_null(item, f"{path}.{key}")) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if item is None:
                return f"{path}[{index}]"
            if (found := _first_null(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _issue(resource_type: str, error: Any) -> Issue:
    """An OperationOutcome issue from one pydantic error, without the input value."""
    path = resource_type
    for part in error.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = str(error.get("msg", "invalid value")).split("\n", 1)[0][:200]
    code = "required" if error.get("type") == "missing" else "value"
    return Issue("error", code, path, message)
