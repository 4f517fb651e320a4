"""Opening a data directory: database, migrations and keys, in the right order."""

from __future__ import annotations

from dataclasses import dataclass, field

from carewall.core.config import Settings
from carewall.core.db import Database
from carewall.core.errors import ConfigError
from carewall.core.hooks import Hooks
from carewall.core.keystore import Keystore, load_keyring
from carewall.core.mail import MailSender, mail_sender_for


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

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Create the data directory if needed, migrate, then load and check the master key."""
    _ensure_home(settings)
    db = Database.connect(settings.effective_database_url)
    try:
        if migrate:
            db.migrate()
        ring = load_keyring(settings, db)
    except BaseException:
        db.dispose()
        raise
    return Runtime(settings, db, Keystore(db, ring), mail_sender_for(settings))


def _ensure_home(settings: Settings) -> None:
    home = settings.home
    if home.exists() and not home.is_dir():
        raise ConfigError(f"CAREWALL_HOME={home} exists and is not a directory.")
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"Cannot create the data directory {home}: {exc.strerror}.") from exc
