"""The FHIR side of tests: Synthea sample data, OperationOutcome checks, the vault's bytes.

Resource bodies and stored resources come from `tests.support.factories`
(`fhir_resource`, `make_resources`); tokens for API clients too (`token_for`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import Connection, text

from tests.support.factories import FHIR_JSON

SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fhir"
SAMPLE_FILES = (
    "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json",
    "Gustavo_Mejía_59a8543c-e24f-4a01-b28b-47ccde6bc11d.json",
)


def synthea_files(count: int = 2) -> list[Path]:
    """A few small Synthea bundles, or skip the test when the shared data is absent."""
    files = [SYNTHEA / name for name in SAMPLE_FILES[:count]]
    if not all(f.exists() for f in files):
        pytest.skip(f"Synthea bundles not found in {SYNTHEA} (shared reference data)")
    return files


SYNTHEA3 = SYNTHEA.parent / "fhir-synthea3"
# The smallest patient bundle of the newer generation (327 entries).
SYNTHEA3_PATIENT = "Soila394_Christiansen251_fbba2017-3ef4-dfe0-714c-c302cd9b8cca.json"


def synthea3_folder(tmp_path: Path) -> Path:
    """A folder laid out as the newer Synthea exports: `support/` (hospitals, practitioners)
    and one patient bundle, linked from the shared data; or skip when it is absent."""
    support = SYNTHEA3 / "support"
    patient = SYNTHEA3 / SYNTHEA3_PATIENT
    if not (support.is_dir() and patient.exists()):
        pytest.skip(f"Synthea bundles not found in {SYNTHEA3} (shared reference data)")
    folder = tmp_path / "synthea3"
    (folder / "support").mkdir(parents=True)
    for file in support.glob("*.json"):
        (folder / "support" / file.name).symlink_to(file)
    (folder / patient.name).symlink_to(patient)
    return folder


def assert_absent_from_vault(connection: Connection, secrets: list[str]) -> None:
    """No secret appears in any column of any row of the vault's tables.

    Text columns are searched case-insensitively for every secret. Ciphertexts
    are random bytes, in which a short string turns up by chance now and then,
    so they are searched only for secrets of 8 characters or more: plaintext
    stored there would be the whole JSON, long identifiers and addresses included.
    """
    texts: list[str] = []
    blobs: list[bytes] = []
    for table in ("fhir_resources", "fhir_search_index", "break_glass_grants"):
        for row in connection.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                if isinstance(value, bytes | memoryview):
                    blobs.append(bytes(value))
                else:
                    texts.append(str(value).lower())
    stored_text, stored_bytes = "\n".join(texts), b"\n".join(blobs)
    for secret in secrets:
        assert secret.lower() not in stored_text, "a plain-text value is in a vault column"
        if len(secret) >= 8:
            assert secret.encode() not in stored_bytes, "a plain-text value is in a ciphertext"


def outcome(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an OperationOutcome with `status` (and first issue `code`); return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    OperationOutcome.model_validate(body)
    if code is not None:
        assert body["issue"][0]["code"] == code, body
    return body
