"""Reading import files into units (one Bundle or NDJSON file = one all-or-nothing unit).

Also resolves the references a unit makes to itself: `urn:uuid:` full URLs
become `Type/id`. Conditional references (`Practitioner?identifier=s|v`) need
the database and are resolved by the importer.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carewall.core.inputs import JsonDuplicateKeyError, JsonTooDeepError, loads_json
from carewall.records.errors import Issue, RecordValidationError

SUFFIXES = (".json", ".ndjson")
# A gzipped file (`x.json.gz`, `x.ndjson.gz`) is read as what it holds, up to this size:
# a small compressed file must not unpack into more memory than any real export needs.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


@dataclass
class Unit:
    """What one file holds: resources to write in one transaction, with where they came from."""

    name: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    # Entries that asked to be matched by identifier rather than id (conditional create).
    match_by_identifier: set[int] = field(default_factory=set)


# Synthea writes the hospitals and practitioners that every patient bundle refers to
# (conditionally: `Location?identifier=...`) in files of their own, beside the patients
# or, as exported today, in a `support/` folder. They are imported first, so that the
# patients' conditional references find them.
SUPPORT_FOLDER = "support"
SUPPORT_PREFIXES = ("hospitalInformation", "practitionerInformation")


def find_files(path: Path) -> list[Path]:
    """The import files under `path`, in the order to import them: a file; or a directory's
    `support/` files, then its own (Synthea's support files first, then by name)."""
    if not path.is_dir():
        return [path]
    support = path / SUPPORT_FOLDER
    first = _files_in(support) if support.is_dir() else []
    return first + _files_in(path)


def _files_in(folder: Path) -> list[Path]:
    """The import files directly in `folder`, Synthea's support files first."""
    found = [p for p in folder.iterdir() if _inner_suffix(p) in SUFFIXES and p.is_file()]
    return sorted(found, key=lambda p: (not p.name.startswith(SUPPORT_PREFIXES), p.name))


def _inner_suffix(path: Path) -> str:
    """`.json` for both `x.json` and `x.json.gz`."""
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def _read_text(path: Path) -> str:
    """The file's text, unpacked first when it is gzipped (with a ceiling on the result)."""
    if path.suffix != ".gz":
        return path.read_text(encoding="utf-8")
    try:
        with gzip.open(path, "rb") as stream:
            data = stream.read(MAX_UNPACKED_BYTES + 1)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise _structure("file", f"not a readable gzip file ({exc})") from None
    if len(data) > MAX_UNPACKED_BYTES:
        raise _structure("file", "unpacks to more than 512 MiB; import it uncompressed in parts")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _structure("file", "not UTF-8 text once unpacked") from None


def read_unit(path: Path) -> Unit:
    """Parse one file; a structural problem raises `RecordValidationError`."""
    text = _read_text(path)
    if _inner_suffix(path) == ".ndjson":
        return Unit(
            path.name,
            [_identified(_json(line, f"line {n}"), f"line {n}") for n, line in _lines(text)],
        )
    body = _json(text, "file")
    if body.get("resourceType") != "Bundle":
        return Unit(path.name, [_identified(body, "file")])
    return _from_bundle(path.name, body)


def _identified(resource: dict[str, Any], where: str) -> dict[str, Any]:
    """`resource`, refused when it carries no id of its own.

    A Bundle entry without one is created under a new id (its fullUrl ties it to
    the entries that refer to it). A bare resource or an NDJSON line has nothing
    else to be known by: a new id on each import would store it again each time,
    and importing the same file twice must change nothing.
    """
    if not isinstance(resource.get("id"), str):
        raise _structure(where, "the resource has no id (a bare resource or NDJSON line needs one)")
    return resource


def _from_bundle(name: str, bundle: dict[str, Any]) -> Unit:
    if bundle.get("type") not in {"transaction", "batch", "collection", "searchset"}:
        raise _structure("Bundle.type", "only transaction, batch and collection bundles import")
    unit, full_urls = Unit(name), {}
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise _structure(f"Bundle.entry[{index}].resource", "missing")
        request = entry.get("request") or {}
        resource = dict(resource)
        url = str(request.get("url") or "")
        if request.get("method") == "PUT" and "/" in url and "?" not in url:
            resource["id"] = url.rsplit("/", 1)[1]
        if not isinstance(resource.get("id"), str) or request.get("ifNoneExist"):
            unit.match_by_identifier.add(index)
            resource.setdefault("id", str(uuid.uuid4()))
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            full_urls[full_url] = f"{resource.get('resourceType')}/{resource['id']}"
        unit.resources.append(resource)
    unit.resources = [
        rewrite_references(r, lambda ref: full_urls.get(ref, ref)) for r in unit.resources
    ]
    return unit


def rewrite_references(value: Any, resolve: Callable[[str], str]) -> Any:
    """A copy of `value` with every `reference` string passed through `resolve`."""
    if isinstance(value, dict):
        return {
            k: resolve(v)
            if k == "reference" and isinstance(v, str)
            else rewrite_references(v, resolve)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [rewrite_references(item, resolve) for item in value]
    return value


def references(value: Any) -> Iterator[str]:
    """Every `reference` string inside a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _json(text: str, where: str) -> dict[str, Any]:
    try:
        value = loads_json(text)
    except (JsonTooDeepError, JsonDuplicateKeyError) as exc:
        raise _structure(where, f"JSON {exc}") from None
    except ValueError:
        raise _structure(where, "not valid JSON") from None
    if not isinstance(value, dict):
        raise _structure(where, "not a JSON object")
    return value


def _structure(expression: str, problem: str) -> RecordValidationError:
    return RecordValidationError(
        f"{expression}: {problem}", [Issue("error", "structure", expression, problem)]
    )
