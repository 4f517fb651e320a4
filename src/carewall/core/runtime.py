"""Opening a data directory: database, migrations and keys, in the right order.

The data directory holds the database and, by default, the master key: it is
created 0700, and the SQLite file 0600 before SQLite first opens it (SQLite
gives its WAL and shared-memory files the mode of the database file), so that
no other account on the host can read a byte of it whatever the umask. Files
an older version left readable by others are narrowed at start, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from carewall.core.config import Settings
from carewall.core.db import Database
from carewall.core.errors import ConfigError
from carewall.core.hooks import Hooks
from carewall.core.keystore import Keystore, attach_audit_key, load_keyring
from carewall.core.mail import MailSender, mail_sender_for

log = logging.getLogger(__name__)

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
#: What SQLite writes beside the database file (WAL mode, and a rollback journal).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass
class Runtime:
    """What a running Carewall process holds: its settings, database, keys and hooks.

    `hooks` starts empty; the registry (`carewall.registry.install`) subscribes
    the registered domains' handlers when the web app or a command starts.
    """

    settings: Settings
    db: Database
    keys: Keystore
    mail: MailSender
    hooks: Hooks = field(default_factory=Hooks)
    #: Set by `carewall.registry.install` once data keys, upgrades and hooks are in place.
    installed: bool = False

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Create the data directory if needed, migrate, then load and check the master key."""
    _ensure_home(settings)
    url = settings.effective_database_url
    secure_sqlite_file(url)
    db = Database.connect(url)
    try:
        if migrate:
            db.migrate()
        ring = load_keyring(settings, db)
        keys = Keystore(db, ring)
        attach_audit_key(db, keys)
    except BaseException:
        db.dispose()
        raise
    return Runtime(settings, db, keys, mail_sender_for(settings))


def _ensure_home(settings: Settings) -> None:
    home = settings.home
    if home.exists() and not home.is_dir():
        raise ConfigError(f"CAREWALL_HOME={home} exists and is not a directory.")
    try:
        if not home.exists():
            home.mkdir(parents=True, mode=DIRECTORY_MODE)
            home.chmod(DIRECTORY_MODE)  # mkdir's mode passes through the umask
    except FileExistsError:
        pass  # another process made it first
    except OSError as exc:
        raise ConfigError(f"Cannot create the data directory {home}: {exc.strerror}.") from exc
    _narrow(home, DIRECTORY_MODE)


def secure_sqlite_file(url: str) -> None:
    """Create an SQLite database file 0600 before SQLite does, and narrow existing ones.

    Does nothing for PostgreSQL or an in-memory database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in {None, "", ":memory:"}:
        return
    path = Path(str(parsed.database))
    if not path.parent.is_dir():
        return  # SQLite reports the missing directory in its own words
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for name in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        if name.exists():
            _narrow(name, FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    """Take away group and other permissions an older version (or a umask) left.

    Only on what this account owns: a directory someone else set up (a shared
    mount, say) is reported, not changed.
    """
    info = path.stat()
    current = stat.S_IMODE(info.st_mode)
    if current & 0o077 == 0:
        return
    if info.st_uid != os.geteuid():
        log.warning("%s is readable by other accounts (mode %o); make it %o.", path, current, mode)
        return
    try:
        path.chmod(current & mode)
    except OSError as exc:
        raise ConfigError(
            f"{path} is readable by other accounts ({current:o}) and cannot be narrowed: "
            f"{exc.strerror}. Run: chmod {mode:o} {path}"
        ) from exc
    log.warning("Narrowed %s from mode %o to %o (owner only).", path, current, current & mode)
