"""Which patient's compartment a resource is in, and the one form a reference to a patient takes.

The compartment decides everything about access: a patient's token reaches the
resources filed under their own Patient id, and a restricted patient's
resources open to staff only through break-glass. A resource is filed under
the patient its references name, so a reference that names a patient in some
other spelling (`patient/p1`, ` Patient/p1`, `Patient/p1?x`, this server's
absolute URL) must not leave the resource outside that patient's compartment.

On write (`canonicalise`), every reference to this server is rewritten to its
one canonical form:

- `Type/id` (relative to the FHIR base) is canonical; `Type/id/_history/n`
  keeps its version (a version-specific reference) and is filed under `Type/id`;
- an absolute URL under this server's FHIR base (`CAREWALL_BASE_URL` + `/fhir`;
  scheme and host compared case-insensitively, default ports implied, the
  IP literals read in every spelling URL parsers accept (`127.1`, `2130706433`,
  `[::ffff:127.0.0.1]`), and loopback names and addresses, `0.0.0.0` included,
  counted as one host when the base is on loopback) becomes
  relative; surrounding whitespace is dropped;
- anything else that looks like a reference to a local patient is refused with
  a 422 naming the field, never guessed: the resource type written in another
  case (`patient/p1`; FHIR type names are case-sensitive), whitespace or empty
  segments inside, a query or fragment (`Patient/p1?x`, `Patient/p1#x`,
  `Patient?identifier=...`), an id that is not a FHIR id
  (`[A-Za-z0-9\\-.]{1,64}`), a path outside the FHIR base on this server's host,
  or, in a field that decides the compartment, anything that is not a
  reference at all (a bare id);
- an absolute URL of another server is an external reference: kept as it is,
  and not a local patient. Ids are case-sensitive and never changed.

A resource names at most one patient (a Patient resource: only itself, besides
`link.other`); references anywhere in it count, `contained` resources too, so
no field (FHIR's compartment definition, `PATIENT_COMPARTMENT`, or any other)
can put a second patient's data in the first one's compartment. One exception,
the roster: a Group naming several patients, each only as a `member[i].entity`,
is filed in no patient's compartment (a cohort is the Group Bulk Data export's
input; staff read it by the matrix, a patient never; docs/threat-model.md).

Rows written before these rules are re-indexed by `reindex` with the lenient
reading (`legacy_patient_of`), and reads attribute a version to the patient
whose blind index it carries (`patient_candidates`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from carewall.records.errors import Issue, RecordValidationError

# FHIR R4 CompartmentDefinition "patient" (data kept by `resource_types`): the fields
# (paths inside the resource) that put a resource in a patient's compartment, the
# resource's own subject first. Every reference anywhere is checked anyway; this map
# says which fields a bare id is refused in and which one wins when reading rows
# written before the rules.
from carewall.records.store.resource_types import PATIENT_COMPARTMENT as PATIENT_COMPARTMENT
from carewall.records.store.validation import FHIR_ID

PATIENT = "Patient"
# A Patient may name other patients only here (a link to a duplicate record).
_PATIENT_LINK = "link.other"

_ID = FHIR_ID.pattern
_RELATIVE = re.compile(
    rf"(?P<type>[A-Za-z][A-Za-z0-9]{{0,63}})/(?P<id>{_ID})(?:/_history/(?P<version>{_ID}))?"
)
_ID_ONLY = re.compile(_ID)
_WHITESPACE = re.compile(r"\s+")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class OwnServer:
    """This server's FHIR base, split for comparing absolute references with it."""

    scheme: str
    host: str
    port: int | None
    path: str

    @classmethod
    def of(cls, base: str) -> OwnServer:
        """From the FHIR base URL, e.g. `https://clinic.example/fhir`."""
        parts = urlsplit(base.strip())
        scheme = parts.scheme.lower()
        return cls(scheme, _host(parts), _port(parts, scheme), parts.path.rstrip("/"))

    def same_host(self, parts: SplitResult) -> bool:
        """Whether an absolute URL points at this server's host (any scheme or port)."""
        host = _host(parts)
        if host == self.host:
            return True
        return _is_loopback(host) and _is_loopback(self.host)

    def resource_path(self, parts: SplitResult) -> str | None:
        """`Type/id...` of a URL under this server's FHIR base, else None."""
        scheme = parts.scheme.lower()
        if scheme != self.scheme or _port(parts, scheme) != self.port:
            return None
        if parts.query or parts.fragment or parts.username or parts.password:
            return None
        prefix = self.path + "/"
        return parts.path[len(prefix) :] if parts.path.startswith(prefix) else None


def fhir_base(public_url: str) -> str:
    """The FHIR base of a server reached at `public_url` (`Settings.public_url`)."""
    return public_url.rstrip("/") + "/fhir"


@dataclass(frozen=True)
class Reference:
    """What one reference string is: its canonical text, the local patient it names, or why
    it is refused (a value-free sentence)."""

    text: str
    patient: str | None = None
    problem: str | None = None


def read_reference(value: str, own: OwnServer | None, *, decides: bool = False) -> Reference:
    """Classify one `reference` string; `decides` when its field decides the compartment."""
    text = value.strip()
    if not text or text.startswith("#") or text.lower().startswith("urn:"):
        return Reference(text or value)
    parts = _split(text)
    if parts is None:  # not even a URL (`http://[x`)
        refused = decides or _looks_like_patient(text)
        return Reference(value, problem=_NOT_CANONICAL) if refused else Reference(value)
    if parts.scheme and parts.netloc:
        return _absolute(value, text, parts, own)
    found = _RELATIVE.fullmatch(text)
    if found is not None:
        return _relative(found)
    if _looks_like_patient(text) or decides:
        return Reference(value, problem=_NOT_CANONICAL)
    return Reference(value)


_NOT_CANONICAL = (
    "a reference to a patient on this server must be written Patient/{id} "
    "(exact case, no spaces, query or fragment)"
)


def _absolute(value: str, text: str, parts: SplitResult, own: OwnServer | None) -> Reference:
    if _bad_number_host(parts) and _looks_like_patient(text):
        # `http://256.1/...` is no address and no name: URL parsers refuse it, so it
        # is neither this server's resource nor an external one.
        return Reference(value, problem="the host is neither a name nor an IP address")
    if own is None or not own.same_host(parts):
        return Reference(value)  # another server's resource: external, not a local patient
    path = own.resource_path(parts)
    found = _RELATIVE.fullmatch(path) if path is not None else None
    if found is not None:
        return _relative(found)
    if _looks_like_patient(text):
        problem = "points at this server but not at a resource under its FHIR base"
        return Reference(value, problem=problem)
    return Reference(value)


def _relative(found: re.Match[str]) -> Reference:
    resource_type, logical_id = found.group("type"), found.group("id")
    text = found.group(0)
    if resource_type.lower() == PATIENT.lower():
        if resource_type != PATIENT or _only_dots(logical_id):
            return Reference(text, problem=_NOT_CANONICAL)
        return Reference(text, patient=logical_id)
    return Reference(text)  # any other type is a fine subject or performer (Group, ...)


def _looks_like_patient(text: str) -> bool:
    """Whether a reference that is not canonical could be read as naming a Patient."""
    plain = _WHITESPACE.sub("", unquote(unquote(text))).casefold()
    segments = re.split(r"[/\\?#&=;]", plain)
    return PATIENT.casefold() in segments


def _only_dots(logical_id: str) -> bool:
    return set(logical_id) <= {"."}


# --- whole resources -------------------------------------------------------------------


@dataclass
class _Walk:
    """What a walk through one resource found."""

    resource: Any
    patients: dict[str, str] = field(default_factory=dict)  # patient id -> first path naming it
    issues: list[Issue] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)  # a Group's member.entity patients

    def settle(self) -> None:
        """A Group's members count as patients named, unless the Group is a roster
        (several members, no patient named anywhere else): then none does."""
        if not self.is_roster():
            for patient, path in self.members.items():
                self.patients.setdefault(patient, path)
            self.members = {}

    def is_roster(self) -> bool:
        """Several patient members and no other patient reference."""
        return len(self.members) > 1 and not self.patients


GROUP = "Group"
# A roster's member references: the Group's own top-level `member[i].entity`.
_MEMBER = re.compile(r"Group\.member\[\d+\]\.entity\.reference")


def canonicalise(resource: dict[str, Any], base: str | None) -> dict[str, Any]:
    """`resource` with every reference to this server canonical (see the module doc).

    Raises `RecordValidationError` (422) naming each refused reference's field,
    and when the resource names more than one patient. `base` is this server's
    FHIR base (`fhir_base(settings.public_url)`); None knows no server, so only
    relative forms are checked (what `compartment_of` does).
    """
    walk = _walk(resource, OwnServer.of(base) if base else None)
    _refuse(walk, str(resource.get("resourceType")))
    return dict(walk.resource)


def compartment_of(resource: dict[str, Any]) -> str | None:
    """The Patient id whose compartment holds a canonical resource (None: no patient's).

    Raises like `canonicalise` when a reference is not canonical: every write
    path canonicalises first, so this is the last line should one forget.
    """
    resource_type = resource.get("resourceType")
    walk = _walk(resource, None)
    _refuse(walk, str(resource_type))
    if resource_type == PATIENT:
        return _text(resource.get("id"))
    return next(iter(walk.patients), None)


def _refuse(walk: _Walk, resource_type: str) -> None:
    issues = list(walk.issues)
    own_id = _text(walk.resource.get("id")) if resource_type == PATIENT else None
    others = {pid: path for pid, path in walk.patients.items() if pid != own_id}
    if resource_type == PATIENT and others:
        problem = "a Patient may name another patient only in link.other"
        issues += [Issue("error", "invalid", path, problem) for path in others.values()]
    elif len(others) > 1:
        problem = "names a second patient; a resource belongs to one patient's compartment"
        issues += [Issue("error", "invalid", path, problem) for path in list(others.values())[1:]]
    if issues:
        where = ", ".join(issue.expression for issue in issues[:5])
        raise RecordValidationError(f"Invalid reference: {where}", issues[:20])


def _walk(resource: dict[str, Any], own: OwnServer | None) -> _Walk:
    resource_type = str(resource.get("resourceType"))
    walk = _Walk(resource)
    walk.resource = _visit(resource, resource_type, resource_type, "", own, walk)
    walk.settle()
    return walk


def _visit(
    node: Any, path: str, owner: str, field_path: str, own: OwnServer | None, walk: _Walk
) -> Any:
    """A copy of `node` with its references canonical; `owner` is the (contained) resource's
    type and `field_path` the path inside it without list indexes (`performer.actor`)."""
    if isinstance(node, list):
        return [
            _visit(item, f"{path}[{i}]", owner, field_path, own, walk)
            for i, item in enumerate(node)
        ]
    if not isinstance(node, dict):
        return node
    copy: dict[str, Any] = {}
    for key, value in node.items():
        if key == "reference" and isinstance(value, str):
            copy[key] = _reference(value, f"{path}.reference", owner, field_path, own, walk)
        elif key == "contained" and isinstance(value, list):
            copy[key] = [
                _contained(item, f"{path}.contained[{i}]", own, walk)
                for i, item in enumerate(value)
            ]
        else:
            inner = f"{field_path}.{key}" if field_path else key
            copy[key] = _visit(value, f"{path}.{key}", owner, inner, own, walk)
    return copy


def _contained(item: Any, path: str, own: OwnServer | None, walk: _Walk) -> Any:
    owner = str(item.get("resourceType")) if isinstance(item, dict) else ""
    return _visit(item, path, owner, "", own, walk)


def _reference(
    value: str, path: str, owner: str, field_path: str, own: OwnServer | None, walk: _Walk
) -> str:
    decides = field_path in PATIENT_COMPARTMENT.get(owner, ())
    found = read_reference(value, own, decides=decides)
    if found.problem is not None:
        walk.issues.append(Issue("error", "invalid", path, found.problem))
        return value
    if found.patient is not None and owner == GROUP and _MEMBER.fullmatch(path):
        walk.members.setdefault(found.patient, path)
    elif found.patient is not None and not (owner == PATIENT and field_path == _PATIENT_LINK):
        walk.patients.setdefault(found.patient, path)
    return found.text


# --- reading rows written before the rules -----------------------------------------------


def legacy_patient_of(resource: dict[str, Any], own: OwnServer | None) -> str | None:
    """The patient a stored version names, read leniently (for rows written before the
    rules, which no longer pass `compartment_of`): spaces, case, queries, fragments and
    versions are ignored, URLs of this server's host read as local, other servers' not.
    The compartment fields win, in `PATIENT_COMPARTMENT` order, then any other reference."""
    resource_type = str(resource.get("resourceType"))
    if resource_type == PATIENT:
        return _text(resource.get("id"))
    if resource_type == GROUP and _walk(resource, own).is_roster():
        return None
    named = list(_legacy_references(resource, resource_type, "", own))
    for wanted in PATIENT_COMPARTMENT.get(resource_type, ()):
        for field_path, patient in named:
            if field_path == wanted:
                return patient
    return named[0][1] if named else None


def patient_candidates(resource: dict[str, Any]) -> list[str]:
    """Every Patient id a stored version could be filed under, most likely first.

    A read attributes a version to the candidate whose blind index equals the
    row's `patient_ref` (so a version written before the rules is audited under
    the patient its row is filed under, whatever spelling it holds).
    """
    resource_type = str(resource.get("resourceType"))
    if resource_type == PATIENT:
        own_id = _text(resource.get("id"))
        return [own_id] if own_id else []
    first = legacy_patient_of(resource, None)
    found = [first] if first else []
    for _, patient in _legacy_references(resource, resource_type, "", None, any_host=True):
        if patient not in found:
            found.append(patient)
    return found


def _legacy_references(
    node: Any, owner: str, field_path: str, own: OwnServer | None, *, any_host: bool = False
) -> Iterator[tuple[str, str]]:
    """(field path, patient id) of every reference that leniently names a local patient."""
    if isinstance(node, list):
        for item in node:
            yield from _legacy_references(item, owner, field_path, own, any_host=any_host)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "reference" and isinstance(value, str):
            patient = _lenient_patient(value, own, any_host=any_host)
            if patient is not None and not (owner == PATIENT and field_path == _PATIENT_LINK):
                yield field_path, patient
        elif key == "contained" and isinstance(value, list):
            for item in value:
                inner = str(item.get("resourceType")) if isinstance(item, dict) else ""
                yield from _legacy_references(item, inner, "", own, any_host=any_host)
        else:
            inner_path = f"{field_path}.{key}" if field_path else key
            yield from _legacy_references(value, owner, inner_path, own, any_host=any_host)


def _lenient_patient(value: str, own: OwnServer | None, *, any_host: bool) -> str | None:
    text = _WHITESPACE.sub("", unquote(value))
    parts = _split(text)
    if parts is None:
        return None
    if parts.scheme and parts.netloc:
        if not any_host and (own is None or not own.same_host(parts)):
            return None
        path = parts.path
    elif text.startswith("#") or text.lower().startswith("urn:"):
        return None
    else:
        path = re.split(r"[?#]", text, maxsplit=1)[0]
    segments = [s for s in path.split("/") if s]
    for index in range(len(segments) - 2, -1, -1):
        if segments[index].casefold() == PATIENT.casefold():
            candidate = segments[index + 1]
            if _ID_ONLY.fullmatch(candidate) and not _only_dots(candidate):
                return candidate
            return None
    return None


# --- small helpers ----------------------------------------------------------------------


def _split(text: str) -> SplitResult | None:
    """`urlsplit`, or None for text it refuses (an unclosed IPv6 bracket, ...)."""
    try:
        return urlsplit(text)
    except ValueError:
        return None


def _host(parts: SplitResult) -> str:
    """The host of a URL in one spelling: lower case, no trailing dot, and an IP literal
    in its canonical form, so that `127.1`, `2130706433`, `0x7f.1` and
    `[::ffff:127.0.0.1]` are all `127.0.0.1` (browsers and HTTP clients read them so)."""
    host = (parts.hostname or "").rstrip(".").lower()
    address = _ip_literal(host)
    return str(address) if address is not None else host


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names when it is an IP literal in any spelling a URL parser
    accepts, an IPv4-mapped IPv6 address as its IPv4 one; None for a name."""
    if ":" in host:
        try:
            v6 = ipaddress.IPv6Address(host.strip("[]").split("%", 1)[0])
        except ValueError:
            return None
        return v6.ipv4_mapped or v6
    return _ipv4_literal(host)


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 as the WHATWG URL standard reads it: one to four parts, each decimal, `0x`
    hexadecimal or `0`-led octal, the last filling the remaining bytes (`127.1`,
    `2130706433`, `0177.0.0.1`). `ipaddress` accepts only the dotted-quad form."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *leading, last = values
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(values)):
        return None
    value = last
    for index, n in enumerate(leading):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _bad_number_host(parts: SplitResult) -> bool:
    """Whether a host ends in a number (WHATWG: then it must be IPv4) yet is not IPv4."""
    host = (parts.hostname or "").rstrip(".").lower()
    if ":" in host or not host:
        return False
    last = host.rsplit(".", 1)[-1]
    numeric = last.isascii() and (
        last.isdigit() or (last[:2] == "0x" and _ipv4_part(last) is not None)
    )
    return numeric and _ipv4_literal(host) is None


def _ipv4_part(part: str) -> int | None:
    if len(part) > 12:  # no IPv4 part needs more; keeps int() cheap on any input
        return None
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
        if not digits:
            return 0
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    allowed = "0123456789abcdefABCDEF"[: base if base != 16 else 22]
    if not digits or any(ch not in allowed for ch in digits):
        return None
    return int(digits, base)


def _port(parts: SplitResult, scheme: str) -> int | None:
    try:
        return parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return -1


def _is_loopback(host: str) -> bool:
    """Whether a host (as `_host` spells it) is this machine: a loopback name or
    address, or the unspecified address (`0.0.0.0`, `::`), which connects here too."""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    address = _ip_literal(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
