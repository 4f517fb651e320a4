"""Liveness for load balancers and monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter()


# HEAD too: uptime monitors and load balancers often probe with it (RFC 9110 asks every
# general-purpose server to answer HEAD wherever it answers GET).
@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise (no details for anonymous callers)."""
    try:
        with request.app.state.runtime.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
