"""Engines, transactions and schema migrations for the store.

SQLite (the embedded default) and PostgreSQL (production) behave alike here:
- `write_transaction` serialises writers: SQLite through ``BEGIN IMMEDIATE``, PostgreSQL through a
  transaction-scoped advisory lock. Dedup decisions read the index and write it in one step, so
  two processes must never interleave there.
- The schema is owned by the Alembic migrations in ``db/`` (shipped as ``ingest.migrations``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

# An arbitrary constant: the advisory lock that serialises dedup writers on PostgreSQL.
_WRITER_LOCK = 0x1E57_0001

T = TypeVar("T")


class StoreError(Exception):
    """The store cannot be used (unreachable, or its schema is not at the current revision)."""


class StoreUrlError(StoreError):
    """The store's URL is not one `ingest` can use (a usage error, not an outage)."""


BACKENDS = ("sqlite", "postgresql")


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUrlError(
            f"not a database URL: {url!r} (expected e.g. sqlite:///data/ingest.sqlite or postgresql://user@host/db)"
        ) from None
    if parsed.get_backend_name() not in BACKENDS:
        raise StoreUrlError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return parsed


def sqlite_read_only(path: Path) -> bool:
    """Whether this process cannot write the SQLite file (or create its WAL beside it)."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and explicit transaction control.

    `read_only`: the caller only reads. A SQLite file this process cannot write (a copy handed
    out read-only, an immutable snapshot) is then opened immutable: WAL mode needs write access
    even to read, so `query` on such a file failed before.
    """
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, future=True)
    path = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
    immutable = read_only and path is not None and sqlite_read_only(path)
    if immutable and path is not None:
        parsed = parsed.set(database=f"file:{path.resolve()}", query={"uri": "true", "immutable": "1"})
    elif path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store's directory {path.parent}: {exc.strerror}") from None
        if not read_only and sqlite_read_only(path):
            raise StoreError(f"the store {path} is read-only: commands that write need write access to it")
    engine = create_engine(parsed, future=True, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN happens where SQLAlchemy says.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if immutable:
            cur.close()
            return
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        # 64 MB of page cache (the default is 2 MB): the pages of recent copies, which placement
        # reads as candidates and writes, mostly stay in memory.
        cur.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL into the database every ~80 MB instead of every 4 MB: a transaction of
        # 200 copies dirties ~1,500 pages, so the default checkpointed (and fsynced) on every commit,
        # rewriting the same hot index pages each time. Measured: commit 590 -> 290 us per copy.
        cur.execute("PRAGMA wal_autocheckpoint=20000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("ingest_writer", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the store's single-writer lock; commits on success."""
    with Session(engine, expire_on_commit=False) as session:
        # The option reaches the "begin" hook above, which opens the SQLite transaction IMMEDIATE.
        session.connection(execution_options={"ingest_writer": True})
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITER_LOCK})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def in_chunks(items: Sequence[T], size: int = 500) -> Iterator[list[T]]:
    """`items` in lists of `size`: one IN (...) query or one multi-row statement each, short enough
    for any driver (SQLite allows 32,766 bound parameters, PostgreSQL 65,535)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def allocate_ids(conn: Connection, table: str, n: int) -> list[int]:
    """`n` new primary keys of the table named `table` (column `id`), ascending, for rows the caller inserts itself.

    Inside a `write_transaction` only: on SQLite the writer lock makes max(id) + 1... free; on
    PostgreSQL the table's sequence hands them out. Knowing a row's id before inserting it lets
    the writer store a copy once, with its story, instead of inserting it and updating it.
    """
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sql = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
        return sorted(conn.execute(sql, {"table": table, "n": n}).scalars())
    last = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(last + 1, last + 1 + n))


def psycopg_connection(conn: Connection) -> Any | None:
    """The psycopg connection under `conn` (in its transaction) when it is PostgreSQL through psycopg,
    else None: the few hot paths that talk to the driver directly (COPY, array parameters) ask here."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    return conn.connection.dbapi_connection


def copy_rows(conn: Connection, model: type[Any], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> bool:
    """Insert `rows` of the mapped class `model` (values in the order of `names`) with PostgreSQL's
    ``COPY ... FROM STDIN`` when the connection is PostgreSQL through psycopg; False, having written
    nothing, elsewhere (the caller inserts its own way: on SQLite executemany is in-process and as fast).

    The columns' own bind conversions run (`UTCDateTime`...), and columns left out take their
    Python-side defaults as an INSERT would. Why: an executemany sends a Bind and an Execute per
    row and adapts each through the pipeline machinery; at 100,000 stored copies the writer spent
    more of its time there than in placement (bench/dedup_scale.py on PostgreSQL, profiled).
    """
    raw = psycopg_connection(conn)
    if raw is None:
        return False
    if not rows:
        return True
    table: Table = model.__table__
    names = list(names)
    extra = [c for c in table.c if c.name not in names and c.default is not None and c.default.is_scalar]
    columns = [table.c[n] for n in names] + extra
    fill = [c.default.arg for c in extra]  # type: ignore[union-attr]
    procs = [c.type.bind_processor(conn.dialect) for c in columns]
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([v if p is None else p(v) for p, v in zip(procs, [*row, *fill], strict=True)])
    return True


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("ingest.migrations")))
    # ConfigParser interpolation: a password may hold '%'.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the pending migrations up to `revision` (idempotent)."""
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def pending_revision(engine: Engine) -> tuple[str | None, str]:
    """(current revision of the store, head revision of the code)."""
    script = ScriptDirectory.from_config(_alembic_config(str(engine.url)))
    head = script.get_current_head() or ""
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot reach the store at {engine.url!r}: {exc.orig}") from None
    return current, head


def open_store(url: str, *, auto_upgrade: bool = True, read_only: bool = False) -> Engine:
    """An engine on an up-to-date schema; upgrades it, or says clearly that it must be upgraded.
    A read-only caller never upgrades (it may not be able to write)."""
    engine = make_engine(url, read_only=read_only)
    current, head = pending_revision(engine)
    if current != head:
        if not auto_upgrade or read_only:
            raise StoreError(
                f"the store is at schema revision {current or 'none'}, the code needs {head}: run `ingest db upgrade`"
            )
        upgrade(engine)
    return engine


def upsert(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    set_: Callable[[Any], dict[str, Any]],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET set_ on SQLite and PostgreSQL alike.

    `set_` receives the statement's `excluded` row and returns column -> SQL expression, so the
    caller decides how a conflict merges (e.g. keep the old ETag when a 304 brings none).
    """
    if not rows:
        return
    insert = _dialect_insert(session)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=set_(stmt.excluded) if callable(set_) else set_)
    session.execute(stmt, rows)


def _dialect_insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
