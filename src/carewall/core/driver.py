"""Statements run on the driver's own cursor, inside a SQLAlchemy connection.

For the few statements every request runs (a bearer token's lookup, a FHIR
read's current version, the audit append): Core's execution pipeline (events,
cursor wrapping, result metadata built from the cursor's description) cost
more than the statements themselves, about a third of a token check on
PostgreSQL (callgrind). What the driver is sent and what comes back are still
Core's: the SQL is the statement Core compiled, each value is bound and each
result converted by the column type's own SQLAlchemy processors, and a driver
error is raised as SQLAlchemy would raise it. Drivers whose parameter style is
not known here go through Core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Numeric, Select
from sqlalchemy.exc import DBAPIError, StatementError

# Each driver whose cursor takes Core's compiled SQL as it is, with its named parameter
# style (for SQL written by hand, such as the audit append's INSERT).
NAMED_PARAMETER = {"psycopg": "%({})s", "psycopg2": "%({})s", "pysqlite": ":{}"}
DRIVERS = frozenset(NAMED_PARAMETER)

Processor = Callable[[Any], Any]


def on_driver(connection: Connection, sql: str, params: Any, *, many: bool = False) -> Any:
    """Run one statement on the driver's own cursor, inside `connection`'s transaction;
    the cursor, or the driver's error as SQLAlchemy would have raised it."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise driver_error(connection, exc, sql) from exc
    return cursor


def on_psycopg_bound_here(connection: Connection, sql: str, params: Sequence[Any]) -> None:
    """psycopg only: run `sql`, which may hold several statements, with `params` merged
    into its text by psycopg itself (its `ClientCursor`, which quotes each value as
    the server would read it), sent as one query of the simple protocol.

    For statements that must travel together and take values (the audit append's
    INSERT and its COMMIT): a query bound on the server holds one statement only.
    Errors come out as the driver's own; see `driver_error`.
    """
    import psycopg  # only ever called on psycopg's connections

    driver: Any = connection.connection.driver_connection
    psycopg.ClientCursor(driver).execute(sql, params, prepare=False)


def driver_error(connection: Connection, exc: Any, sql: str) -> StatementError:
    """The driver's own error, raised past SQLAlchemy, as SQLAlchemy would have raised it:
    wrapped (so a cancelled lock wait or a lost connection is a 503 like any other
    database error, not a 500) and, when the connection is gone, with it invalidated
    and the pool replaced (the other pooled connections likely went with it, e.g. at a
    server restart), so that none is handed out again."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(exc)
        connection.engine.dispose()
    wrapped: StatementError = DBAPIError.instance(
        sql,
        None,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )
    return wrapped


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one driver: its SQL and how to bind and convert."""

    sql: str
    names: Mapping[str, str]  # each parameter's name in the SQL, by its key
    defaults: Mapping[str, Any]  # the values Core bound at compile time (literals)
    binders: Mapping[str, Processor]
    positions: Sequence[str] | None  # parameter order of a positional style (SQLite)
    results: Sequence[Processor | None]

    def bind(self, params: Mapping[str, Any]) -> Any:
        values = dict(self.defaults)
        for key, value in params.items():
            values[self.names[key]] = value
        for name, processor in self.binders.items():
            values[name] = processor(values[name])
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if processor is None else processor(value)
            for processor, value in zip(self.results, row, strict=True)
        )


class DriverSelect:
    """A Core SELECT whose first row is fetched on the driver's own cursor.

    Build it once, at import: it compiles the statement once per driver. Its
    columns must not need the driver's type codes to be converted (no Numeric:
    such a statement goes through Core).
    """

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        #: The selected columns' names, in the order of a row's values.
        self.names: tuple[str, ...] = tuple(statement.selected_columns.keys())
        self._plans: dict[str, _Plan | None] = {}

    def first(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row's values (None: no row), converted as Core converts them."""
        plan = self._plan(connection.dialect)
        if plan is None:
            found = connection.execute(self.statement, dict(params)).first()
            return None if found is None else tuple(found)
        row = on_driver(connection, plan.sql, plan.bind(params)).fetchone()
        return None if row is None else plan.convert(row)

    def _plan(self, dialect: Dialect) -> _Plan | None:
        if dialect.driver not in self._plans:
            self._plans[dialect.driver] = self._compile(dialect)
        return self._plans[dialect.driver]

    def _compile(self, dialect: Dialect) -> _Plan | None:
        types = [column.type for column in self.statement.selected_columns]
        if dialect.driver not in DRIVERS or any(isinstance(t, Numeric) for t in types):
            return None
        compiled = self.statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            return None  # rendered per execution (an expanding IN): Core's work
        names, defaults, binders = {}, {}, {}
        for bind in compiled.binds.values():
            name = names[bind.key] = compiled.bind_names[bind]
            if not bind.required:
                defaults[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binders[name] = processor
        positions = list(compiled.positiontup or ()) if compiled.positional else None
        results = [t.dialect_impl(dialect).result_processor(dialect, None) for t in types]
        return _Plan(compiled.string, names, defaults, binders, positions, results)
