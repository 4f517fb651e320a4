"""The one declaration a domain makes to plug into Carewall."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from carewall.core.hooks import Hooks
from carewall.core.runtime import Runtime
from carewall.demo import Seeder
from carewall.jobs import Job, Task

if TYPE_CHECKING:  # the web and CLI stacks are imported only when they are used
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart

EvidenceProvider = Callable[[Runtime], Mapping[str, Any]]


@dataclass(frozen=True)
class Domain:
    """Everything a domain adds to the app, the CLI, the demo and the job runner.

    - `models`: modules whose tables Alembic compares with the migrations.
    - `data_keys`: data-key purposes created up front (never lazily inside a
      write transaction, where SQLite's single writer would wait on itself).
    - `upgrades`: data upgrades that need the keys, which migrations do not have
      (sealing what an older version kept in clear, re-indexing): run in order
      when a runtime is installed; each resumes where it stopped and costs a
      query or two once done.
    - `jobs`, `tasks`: periodic jobs and queued task kinds (`carewall.jobs`).
    - `subscribe`: subscribes handlers to lower layers' events (`core.hooks`).
    - `on_install`: the same, for handlers that need the runtime (its settings);
      called once per runtime, after every domain's `subscribe`.
    - `evidence`: named providers of the figures the risk report cites.
    - `seeders`: demo steps, run in registration order.
    - `web`, `cli`: lazily built interface parts (routers and nav; commands).
    """

    name: str
    models: tuple[str, ...] = ()
    data_keys: tuple[str, ...] = ()
    upgrades: tuple[Callable[[Runtime], object], ...] = ()
    jobs: tuple[Job, ...] = ()
    tasks: tuple[Task, ...] = ()
    subscribe: Callable[[Hooks], None] | None = None
    on_install: Callable[[Runtime], None] | None = None
    evidence: Mapping[str, EvidenceProvider] = field(default_factory=dict)
    seeders: tuple[Seeder, ...] = ()
    web: Callable[[], WebPart] | None = None
    cli: Callable[[], CliPart] | None = None
