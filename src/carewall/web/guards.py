"""Input refusals that hold for every route: text and numbers no database can take.

A NUL character in a path or query value is never meaningful here, and
PostgreSQL refuses it in any text comparison ("cannot contain NUL bytes"), so
it is refused up front with 400 on both databases. Numbers from paths are
bounded by the column they are compared with (`AuditSeq`). What a form field
can still carry into a query is caught by the `DataError` handler in
`web.errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from carewall.core.errors import CarewallError
from carewall.core.inputs import has_nul

# An audit entry's position: a BIGINT column.
AuditSeq = Annotated[int, Path(ge=1, le=2**63 - 1)]


class BadCharacterError(CarewallError):
    """The address carries a character no value here can contain."""

    code = "bad_request"
    status = 400


async def refuse_nul(request: Request) -> None:
    """Dependency applied to every route: 400 for a NUL in the path or the query."""
    if has_nul(request.url.path) or any(
        has_nul(name) or has_nul(value) for name, value in request.query_params.multi_items()
    ):
        raise BadCharacterError("The address contains a character that is not allowed.")
