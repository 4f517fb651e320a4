"""Attachment data: a size limit, and `size`/`hash` that must agree with the data."""

from __future__ import annotations

import base64
import hashlib
import typing
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from carewall.core.config import Settings
from carewall.records.errors import AttachmentTooLargeError, RecordValidationError
from carewall.records.store.validation import (
    ATTACHMENT_ELEMENTS,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    SUPPORTED_TYPES,
    validate_resource,
)

LIMIT = 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sha1(data: bytes) -> str:
    return _b64(hashlib.sha1(data, usedforsecurity=False).digest())


def _document(*attachments: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "Patient/p"},
        "content": [{"attachment": a} for a in attachments],
    }


def _issues(error: RecordValidationError) -> dict[str, str]:
    return {i.expression: i.code for i in error.issues}


def test_the_default_limit_is_the_documented_setting() -> None:
    default = Settings.model_fields["max_attachment_bytes"].default
    assert default == DEFAULT_MAX_ATTACHMENT_BYTES == 5 * 1024 * 1024


def test_an_attachment_at_the_limit_passes_one_byte_more_is_refused() -> None:
    data = b"\x01" * LIMIT
    assert validate_resource(_document({"data": _b64(data)}), max_attachment_bytes=LIMIT)
    big = _document({"contentType": "text/plain"}, {"data": _b64(data + b"!")})
    with pytest.raises(AttachmentTooLargeError) as refused:
        validate_resource(big, max_attachment_bytes=LIMIT)
    assert refused.value.status == 413
    assert _issues(refused.value) == {"DocumentReference.content[1].attachment.data": "too-long"}
    assert "DocumentReference.content[1].attachment.data" in refused.value.message


@pytest.mark.parametrize("length", [LIMIT - 2, LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 2])
def test_the_size_is_counted_exactly_whatever_the_padding(length: int) -> None:
    resource = _document({"data": _b64(b"a" * length)})
    if length <= LIMIT:
        validate_resource(resource, max_attachment_bytes=LIMIT)
    else:
        with pytest.raises(AttachmentTooLargeError):
            validate_resource(resource, max_attachment_bytes=LIMIT)


def test_size_and_hash_must_match_the_data() -> None:
    data = b"%PDF-1.7 discharge letter"
    good = {"data": _b64(data), "size": len(data), "hash": _sha1(data)}
    validate_resource(_document(good), max_attachment_bytes=LIMIT)
    wrong = {"data": _b64(data), "size": len(data) + 1, "hash": _sha1(b"another file")}
    with pytest.raises(RecordValidationError) as refused:
        validate_resource(_document(good, wrong), max_attachment_bytes=LIMIT)
    assert refused.value.status == 422
    assert _issues(refused.value) == {
        "DocumentReference.content[1].attachment.size": "value",
        "DocumentReference.content[1].attachment.hash": "value",
    }
    assert "discharge" not in refused.value.reasons(), "no content in errors"


@pytest.mark.parametrize(
    ("attachment", "field"),
    [
        ({"data": "not base64!!"}, "data"),
        ({"data": _b64(b"x"), "hash": "c2hvcnQ="}, "hash"),  # base64, but not 20 bytes
        ({"data": _b64(b"x"), "hash": "%%%"}, "hash"),
    ],
)
def test_malformed_data_or_hash_is_named(attachment: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordValidationError) as refused:
        validate_resource(_document(attachment), max_attachment_bytes=LIMIT)
    assert f"DocumentReference.content[0].attachment.{field}" in _issues(refused.value)


def test_base64_with_line_breaks_is_accepted() -> None:
    data = bytes(range(256)) * 2
    wrapped = "\n".join(_b64(data)[i : i + 76] for i in range(0, len(_b64(data)), 76))
    attachment = {"data": wrapped, "size": len(data), "hash": _sha1(data)}
    validate_resource(_document(attachment), max_attachment_bytes=LIMIT)


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (
            {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"text": "Report"},
                "presentedForm": [{"contentType": "application/pdf"}, {"data": "BIG"}],
            },
            "DiagnosticReport.presentedForm[1].data",
        ),
        ({"resourceType": "Patient", "photo": [{"data": "BIG"}]}, "Patient.photo[0].data"),
        (
            {
                "resourceType": "Patient",
                "extension": [{"url": "urn:x", "valueAttachment": {"data": "BIG"}}],
            },
            "Patient.extension[0].valueAttachment.data",
        ),
        (
            {
                "resourceType": "Patient",
                "contained": [{"resourceType": "Practitioner", "photo": [{"data": "BIG"}]}],
            },
            "Patient.contained[0].photo[0].data",
        ),
    ],
)
def test_every_attachment_element_is_limited(resource: dict[str, Any], path: str) -> None:
    with pytest.raises(AttachmentTooLargeError) as refused:
        validate_resource(_big(resource), max_attachment_bytes=LIMIT)
    assert _issues(refused.value) == {path: "too-long"}


def _big(node: Any) -> Any:
    """`node` with every "BIG" placeholder replaced by data one byte over the limit."""
    if node == "BIG":
        return _b64(b"z" * (LIMIT + 1))
    if isinstance(node, dict):
        return {key: _big(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_big(item) for item in node]
    return node


def test_attachment_elements_cover_every_attachment_of_the_stored_types() -> None:
    """Keep ATTACHMENT_ELEMENTS in step with the R4B models (backbone elements included)."""
    found: set[str] = set()
    seen: set[str] = set()

    def walk(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for field, info in get_fhir_model_class(name).model_fields.items():
            for kind in _leaves(info.annotation):
                kind_name = getattr(kind, "__name__", "")
                if kind_name == "AttachmentType":
                    found.add(field)
                elif kind_name.endswith("Type") and kind_name != "ExtensionType":
                    try:
                        walk(kind_name.removesuffix("Type"))
                    except ValueError:  # a primitive such as NoneType
                        continue

    for resource_type in SUPPORTED_TYPES:
        walk(resource_type)
    assert found
    assert found <= ATTACHMENT_ELEMENTS


def _leaves(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    return [leaf for arg in args for leaf in _leaves(arg)] if args else [annotation]
