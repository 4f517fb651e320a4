"""`CheckInThread`: the caller's check and the route's work in one thread-pool hop, the
check always first."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from starlette.requests import Request

from carewall.core.context import Caller
from carewall.core.errors import PermissionDeniedError
from carewall.web.auth import ALL, CheckInThread, require_api_in_thread

T = TypeVar("T")


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": []})


def _run_on_own_loop(work: Coroutine[Any, Any, T]) -> tuple[T, int]:
    """Run `work` on a fresh event loop in a thread of its own; answer its result and
    that loop's thread.

    Not `asyncio.run` here: once a browser test has run in the same xdist worker,
    Playwright's sync API keeps an event loop marked running in the main thread.
    """

    async def with_loop_thread() -> tuple[T, int]:
        return await work, threading.get_ident()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, with_loop_thread()).result()


def test_the_work_runs_after_the_check_in_the_same_worker_thread() -> None:
    seen: list[tuple[str, int]] = []
    caller = Caller.cli("tester")

    def check(request: Request) -> Caller:
        seen.append(("check", threading.get_ident()))
        return caller

    def work(checked: Caller) -> str:
        seen.append(("work", threading.get_ident()))
        return checked.ref

    result, loop_thread = _run_on_own_loop(CheckInThread(_request(), check).run(work))
    assert result == caller.ref
    assert [step for step, _ in seen] == ["check", "work"]
    assert seen[0][1] == seen[1][1] != loop_thread


def test_the_check_and_the_work_run_inside_the_hold() -> None:
    """The database's `holding` spans both, so they share one pooled connection."""
    seen: list[str] = []

    @contextmanager
    def holding() -> Iterator[None]:
        seen.append("hold")
        yield
        seen.append("release")

    def check(request: Request) -> Caller:
        seen.append("check")
        return Caller.cli("tester")

    def work(checked: Caller) -> None:
        seen.append("work")

    _run_on_own_loop(CheckInThread(_request(), check, holding).run(work))
    assert seen == ["hold", "check", "work", "release"]


def test_a_refused_check_stops_the_work() -> None:
    done: list[Caller] = []

    def check(request: Request) -> Caller:
        raise PermissionDeniedError("Your role does not allow this.")

    with pytest.raises(PermissionDeniedError):
        _run_on_own_loop(CheckInThread(_request(), check).run(done.append))
    assert done == []


def test_the_dependency_declares_the_roles_and_scope_of_require_api() -> None:
    dependency = require_api_in_thread(ALL, scope="fhir:read")
    assert dependency.carewall_roles == ALL  # type: ignore[attr-defined]
    assert dependency.carewall_scope == "fhir:read"  # type: ignore[attr-defined]
