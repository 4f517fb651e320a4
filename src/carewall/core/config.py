"""Typed settings: every one is a `CAREWALL_*` environment variable with a safe default.

`docs/settings.md` lists them all; a test fails when one is missing there.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _bounded_int(default: int, ge: int, le: int | None, description: str) -> Any:
    """An integer setting: its default, the inclusive range it must lie in (`le` None: no
    upper bound) and its line in `docs/settings.md`.

    Most settings are counts, sizes or durations with a floor and a ceiling; spelling each
    as a `Field(default=..., ge=..., le=..., description=...)` buried the numbers that
    differ in keywords that do not. The constraints are pydantic's own, so an out-of-range
    value fails at start with the same message as before ("Input should be greater than
    or equal to 1").
    """
    return Field(default=default, ge=ge, le=le, description=description)


class Settings(BaseSettings):
    """Effective configuration of one Carewall process."""

    model_config = SettingsConfigDict(env_prefix="CAREWALL_", extra="ignore", frozen=True)

    home: Path = Field(
        default=Path("./carewall-data"),
        description="Data directory: holds carewall.db (SQLite) and master.key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means SQLite at HOME/carewall.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 key-encryption key (32 bytes). When empty, HOME/master.key is "
        "used and created on first start.",
    )
    host: str = Field(default="127.0.0.1", description="Address `carewall serve` binds to.")
    port: int = _bounded_int(8000, 1, 65535, "Port `carewall serve` uses.")
    practice_name: str = Field(
        default="Carewall Practice", description="Name of the practice shown in pages."
    )
    base_url: str | None = Field(
        default=None,
        description="Public URL of this server: every absolute link (invitations, FHIR "
        "Location/next/fullUrl) is built on it; defaults to http://HOST:PORT.",
    )
    behind_tls: bool = Field(
        default=False,
        description="True when clients reach Carewall over HTTPS (HSTS, Secure cookies).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="IP addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For is believed, as JSON; empty: forwarded headers are ignored.",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    demo: bool = Field(default=False, description="Demo mode: seed a demo practice on start.")

    # Authentication (NIST SP 800-63B AAL2, HIPAA 164.312(a)(2)(iii) automatic logoff).
    password_min_length: int = _bounded_int(
        12, 8, 64, "Shortest password accepted (never below 8)."
    )
    patient_mfa_required: bool = Field(
        default=False, description="Require a second factor for patients too (staff always)."
    )
    portal_show_staff_names: bool = Field(
        default=True,
        description="Show staff names (not only roles) in the portal's 'Who has looked at my "
        "record'.",
    )
    session_idle_minutes_staff: int = _bounded_int(
        15, 1, 240, "Staff are signed out after this long idle."
    )
    session_idle_minutes_patient: int = _bounded_int(
        30, 1, 240, "Patients are signed out after this long idle."
    )
    session_absolute_hours: int = _bounded_int(
        12, 1, 72, "A session ends this long after sign-in, idle or not."
    )
    step_up_minutes: int = _bounded_int(
        5, 1, 60, "Sensitive actions need a second factor this recent."
    )
    login_window_minutes: int = _bounded_int(
        5, 1, 1440, "Window over which failed sign-ins are counted."
    )
    login_max_failures: int = _bounded_int(
        10, 3, 100, "Password failures per account within the window."
    )
    mfa_max_failures: int = _bounded_int(
        5, 3, 100, "Second-factor failures per account within the window."
    )
    ip_max_failures: int = _bounded_int(
        50, 5, None, "Failures from one IP address within the window."
    )
    ip_max_accounts: int = _bounded_int(
        5,
        2,
        None,
        "Distinct accounts failing from one IP within the window "
        "before it is treated as credential stuffing.",
    )
    global_max_failures: int = _bounded_int(
        1000, 10, None, "Failures across all accounts within the window."
    )
    invite_days: int = _bounded_int(7, 1, 30, "How long an invite link works.")
    token_days: int = _bounded_int(90, 1, 365, "Default lifetime of a personal API token.")
    db_busy_timeout_seconds: int = _bounded_int(
        30,
        1,
        600,
        "How long a SQLite writer waits for the write lock before the request "
        "is answered 503 with Retry-After.",
    )
    signin_concurrency: int = _bounded_int(
        0,
        0,
        256,
        "Password sign-ins verified at once by one server process (Argon2 is "
        "CPU-bound); 0 means one per CPU core.",
    )
    signin_queue: int = _bounded_int(
        32,
        0,
        10_000,
        "Password sign-ins that may wait for a free slot; beyond that, an attempt "
        "is answered 503 with Retry-After at once.",
    )
    signin_queue_seconds: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="Longest wait for a sign-in slot before the attempt is answered 503.",
    )

    # Record vault.
    max_attachment_bytes: int = _bounded_int(
        5 * 1024 * 1024,
        1024,
        512 * 1024 * 1024,
        "Largest attachment (decoded Attachment.data, e.g. a DocumentReference's "
        "document) a stored FHIR resource may carry, in bytes.",
    )
    fhir_bundle_budget: int = _bounded_int(
        5000,
        1000,
        1_000_000,
        "Resources one FHIR batch or transaction Bundle may read or write in "
        "all: each search entry counts its page size, every other entry one.",
    )
    bulk_export_retention_minutes: int = _bounded_int(
        60,
        1,
        7 * 24 * 60,
        "How long the files of a finished FHIR Bulk Data export stay "
        "downloadable; then the job records.bulk_export.sweep deletes them.",
    )
    fhir_bundle_max_entries: int = _bounded_int(
        5000,
        10,
        1_000_000,
        "Most entries one FHIR batch or transaction Bundle may hold; the work "
        "budget applies as well.",
    )
    break_glass_sweep_seconds: int = _bounded_int(
        60,
        0,
        3600,
        "How often the web server closes break-glass grants whose time is up and "
        "ends sessions past their limits, auditing each end; 0 checks only when the server "
        "starts.",
    )

    # Jobs (periodic and queued background work).
    jobs_in_process: bool = Field(
        default=True,
        description="Run due jobs and queued tasks inside `carewall serve`. Turn off on web "
        "workers when `carewall jobs worker` (or cron with `carewall jobs run`) runs them.",
    )
    jobs_tick_seconds: int = _bounded_int(
        5, 1, 60, "How often the in-process job runner looks for due jobs and queued tasks."
    )

    # Risk assessment and the insurance report.
    risk_evidence_stale_days: int = _bounded_int(
        30,
        1,
        365,
        "Evidence measured longer ago than this is flagged stale in the assessment and the report.",
    )
    risk_attachment_max_bytes: int = _bounded_int(
        10 * 1024 * 1024,
        1024,
        100 * 1024 * 1024,
        "Largest evidence attachment (a policy, a certificate, a screenshot) an "
        "assessment answer may carry, in bytes; attachments are stored encrypted.",
    )
    # The audit trail's signed checkpoints (docs/threat-model.md, "The keyed chain").
    audit_checkpoint_dir: Path | None = Field(
        default=None,
        description="Directory where every signed audit checkpoint is also written, one "
        "read-only file each, never overwritten; empty: HOME/audit-checkpoints. Point it at "
        "storage the database's administrators cannot change (append-only, another host).",
    )
    audit_checkpoint_every_entries: int = _bounded_int(
        1000,
        1,
        10_000_000,
        "Sign a checkpoint once this many entries were added since the last one.",
    )
    audit_checkpoint_every_minutes: int = _bounded_int(
        60, 1, 10_080, "Sign a checkpoint this long after the last one when entries were added."
    )
    audit_checkpoint_mail_to: str = Field(
        default="",
        description="Address (the security officer's) that every signed checkpoint is mailed "
        "to, as a copy out of reach of the server; empty: not mailed.",
    )

    # Encrypted backups (restic). docs/backups.md explains the setup and the restore.
    backup_repo: str = Field(
        default="",
        description="Backup repository: a local or USB path, or a restic repository URL "
        "(sftp:, s3:, rest:...). Empty: backups are not set up (demo: HOME/demo-backups).",
    )
    backup_password: SecretStr | None = Field(
        default=None,
        description="The backup password. When empty, scheduled runs use the sealed copy "
        "`carewall backup init` keeps in the data directory; a restore prompts for it.",
    )
    backup_every_hours: int = _bounded_int(
        24, 0, 24 * 7, "Hours between scheduled backups; 0 turns the schedule off."
    )
    backup_max_age_hours: int = _bounded_int(
        36,
        1,
        24 * 31,
        "A last successful backup older than this is a missed backup: the admin "
        "is warned and the security officers are mailed.",
    )
    backup_keep_daily: int = _bounded_int(7, 0, 3650, "Retention: keep the last N daily snapshots.")
    backup_keep_weekly: int = _bounded_int(
        4, 0, 520, "Retention: keep the last N weekly snapshots."
    )
    backup_keep_monthly: int = _bounded_int(
        12, 0, 1200, "Retention: keep the last N monthly snapshots."
    )
    backup_prune: bool = Field(
        default=True,
        description="Apply the retention policy (`restic forget --prune`) from Carewall; turn "
        "off for an append-only repository, whose owner prunes it.",
    )
    backup_verify_every_days: int = _bounded_int(
        7,
        0,
        365,
        "Days between scheduled repository checks (`restic check` and the "
        "manifest); 0 turns them off.",
    )
    backup_drill_every_days: int = _bounded_int(
        7, 0, 365, "Days between scheduled restore drills; 0 turns them off."
    )
    backup_drill_sample: int = _bounded_int(
        50, 1, 100_000, "How many records a restore drill decrypts to prove the keys work."
    )
    backup_restic: str = Field(
        default="restic", description="The restic program (a name on PATH or a full path)."
    )
    backup_limit_upload_kib: int = _bounded_int(
        0,
        0,
        None,
        "Upload bandwidth limit for backups in KiB/s (0: no limit), so an off-site "
        "backup does not fill the practice's internet line.",
    )

    # Outgoing mail (invitations, notices). Empty host: mail is not sent, links are shown.
    smtp_host: str = Field(default="", description="SMTP server; empty disables outgoing mail.")
    smtp_port: int = _bounded_int(587, 1, 65535, "SMTP port.")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS with the SMTP server.")
    smtp_username: str = Field(default="", description="SMTP user name, if the server needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(
        default="carewall@localhost", description="Sender address of Carewall's mail."
    )

    # Phishing e-mail analyzer and reported-mail triage. Lists are JSON in the environment,
    # e.g. CAREWALL_MAIL_ORG_DOMAINS='["clinic.example"]'.
    mail_org_domains: list[str] = Field(
        default_factory=list,
        description="The organisation's own mail domains (lookalikes of them are suspicious).",
    )
    mail_vip_names: list[str] = Field(
        default_factory=list,
        description="Names of people impersonated in CEO fraud (directors, practice manager).",
    )
    mail_known_senders: list[str] = Field(
        default_factory=list,
        description="Addresses or domains that regularly and legitimately write to staff.",
    )
    mail_phishing_threshold: float = Field(
        default=5.0, gt=0, description="Analyzer score at or above which mail is phishing."
    )
    mail_suspicious_threshold: float = Field(
        default=3.5, gt=0, description="Analyzer score at or above which mail is suspicious."
    )
    mail_report_imap_host: str = Field(
        default="", description="IMAP server of the report mailbox; empty disables polling."
    )
    mail_report_imap_port: int = _bounded_int(993, 1, 65535, "IMAP port of the report mailbox.")
    mail_report_imap_user: str = Field(default="", description="Report mailbox user name.")
    mail_report_imap_password: SecretStr | None = Field(
        default=None, description="Report mailbox password."
    )
    mail_report_imap_folder: str = Field(
        default="INBOX", description="Folder of the report mailbox that staff forward to."
    )
    mail_report_imap_ssl: bool = Field(
        default=True, description="Connect to the report mailbox over TLS (IMAPS)."
    )

    # Awareness training and phishing simulations (carewall.training, carewall.phishing).
    practice_timezone: str = Field(
        default="UTC",
        description="The practice's time zone (IANA name, e.g. America/Chicago): pages show "
        "times in it (with the zone's abbreviation), and business hours of campaign send "
        "windows and due dates are counted in it.",
    )
    campaign_window_start_hour: int = _bounded_int(
        9, 0, 23, "Default send window of a campaign opens at this hour."
    )
    campaign_window_end_hour: int = _bounded_int(
        17, 1, 24, "Default send window of a campaign closes at this hour."
    )
    campaign_rate_per_minute: int = _bounded_int(
        20,
        1,
        10_000,
        "Most simulated messages a campaign sends in one minute (`--now` ignores it).",
    )
    campaign_sender_domain: str = Field(
        default="notify-secure.example",
        description="Domain of the simulated senders' addresses ({{sim_domain}} in templates); "
        "use a domain you own and allow-list it in the mail filter.",
    )
    campaign_scanner_seconds: int = _bounded_int(
        5, 0, 600, "A click or open this soon after sending is counted as a mail scanner."
    )
    campaign_scanner_user_agents: list[str] = Field(
        default_factory=lambda: [
            "SafeLinks",
            "Proofpoint",
            "Mimecast",
            "Barracuda",
            "BingPreview",
            "scanner",
            "bot",
        ],
        description="User-agent substrings (case-insensitive) of link scanners; their requests "
        "are recorded as scanner events and left out of the figures.",
    )
    campaign_scanner_networks: list[str] = Field(
        default_factory=list,
        description="Address ranges (CIDR) of link scanners, e.g. your mail filter's.",
    )
    training_joining_modules: list[str] = Field(
        default_factory=lambda: [
            "phishing-red-flags",
            "passwords-mfa",
            "hipaa-minimum-necessary",
            "reporting-incidents",
        ],
        description="Modules assigned to everyone who joins the staff directory.",
    )
    training_annual_modules: list[str] = Field(
        default_factory=lambda: ["phishing-red-flags", "hipaa-minimum-necessary"],
        description="Modules everyone repeats every year.",
    )
    training_due_days: int = _bounded_int(
        30, 1, 365, "Days to complete joining, annual or manual training."
    )
    training_remedial_due_days: int = _bounded_int(
        14, 1, 365, "Days to complete training assigned after a click."
    )
    training_link_days: int = _bounded_int(
        14, 1, 90, "How long a learner's personal training link works."
    )
    training_reminder_days: int = _bounded_int(
        3, 0, 60, "Remind learners this many days before the due date."
    )
    alerts_detect_every_seconds: int = _bounded_int(
        30, 5, 3600, "How often the detectors read new audit entries."
    )
    alerts_volume_cap: int = _bounded_int(
        20,
        1,
        10_000,
        "Cold-start cap: more distinct patients than this in the volume window alert.",
    )
    alerts_volume_window_minutes: int = _bounded_int(
        10, 1, 1440, "The window the volume detector counts in."
    )
    alerts_volume_baseline_weeks: int = _bounded_int(
        4, 1, 52, "Weeks of history behind a user's volume baseline."
    )
    alerts_volume_mad_factor: float = Field(
        default=8.0,
        ge=1.0,
        le=100.0,
        description="A day above median + this many MADs of the user's (or peers') days alerts.",
    )
    alerts_volume_min_daily: int = _bounded_int(
        40, 1, 100_000, "Distinct patients a day below which the baseline never alerts."
    )
    alerts_practice_hours_start: int = _bounded_int(
        7, 0, 23, "Practice hours open at this local hour."
    )
    alerts_practice_hours_end: int = _bounded_int(
        19, 1, 24, "Practice hours close at this local hour."
    )
    alerts_practice_days: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5],
        description="Open weekdays (0 = Monday) for the after-hours detector.",
    )
    alerts_bulk_patients: int = _bounded_int(
        50, 2, 100_000, "A search, Bundle read or export reaching this many patients alerts."
    )
    alerts_break_glass_followup_minutes: int = _bounded_int(
        60, 1, 1440, "Break-glass with no clinical write within this many minutes alerts again."
    )
    alerts_break_glass_repeat: int = _bounded_int(
        3, 2, 100, "Break-glass uses by one user in a day that alert."
    )
    alerts_stuffing_accounts: int = _bounded_int(
        10, 2, 10_000, "Failed sign-ins for this many accounts from one address in an hour alert."
    )
    alerts_lockouts: int = _bounded_int(3, 1, 1000, "Account lockouts in an hour that alert.")
    alerts_mass_change_limit: int = _bounded_int(
        20, 1, 100_000, "Updates and deletes by one session or token in the window that suspend it."
    )
    alerts_mass_change_seconds: int = _bounded_int(60, 1, 3600, "The mass-change window.")
    alerts_allow_users: list[str] = Field(
        default_factory=list,
        description="Emails or user references the access detectors never alert on.",
    )
    alerts_digest_hour: int = _bounded_int(
        7, 0, 23, "Local hour the daily digest of alerts is mailed."
    )

    @field_validator("practice_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as UTC or America/Chicago") from None
        return value

    @field_validator("campaign_scanner_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address range such as 192.0.2.0/24") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"CAREWALL_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from None
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Settings:
        if self.campaign_window_start_hour >= self.campaign_window_end_hour:
            raise ValueError(
                "CAREWALL_CAMPAIGN_WINDOW_START_HOUR must be before "
                "CAREWALL_CAMPAIGN_WINDOW_END_HOUR"
            )
        if self.mail_suspicious_threshold > self.mail_phishing_threshold:
            raise ValueError(
                "CAREWALL_MAIL_SUSPICIOUS_THRESHOLD must not exceed "
                "CAREWALL_MAIL_PHISHING_THRESHOLD"
            )
        return self

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`trusted_proxies` parsed."""
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)

    @property
    def public_url(self) -> str:
        """Where people reach this server, without a trailing slash: CAREWALL_BASE_URL, or
        the address `carewall serve` listens on (it applies its --host/--port here)."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def public_link(self, path: str) -> str:
        """The public URL of a path on this server (query string included, if any):
        `/fhir/Patient?_cursor=x` -> `https://clinic.example/fhir/Patient?_cursor=x`.

        Every absolute link Carewall hands out (FHIR `Location`, `next`, `fullUrl`,
        invitations) is built here, never on a request's Host header, which the client
        chooses.
        """
        return f"{self.public_url}/{path.lstrip('/')}"

    @property
    def effective_signin_concurrency(self) -> int:
        """Sign-in slots per process: the setting, or the CPU cores this process may use."""
        return self.signin_concurrency or available_cores()

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded database lives."""
        return self.home / "carewall.db"

    @property
    def master_key_path(self) -> Path:
        """Where the key file lives when no key is given in the environment."""
        return self.home / "master.key"

    @property
    def effective_checkpoint_dir(self) -> Path:
        """Where signed audit checkpoints are written outside the database."""
        return self.audit_checkpoint_dir or self.home / "audit-checkpoints"

    @property
    def effective_database_url(self) -> str:
        """The URL actually used, SQLite in the data directory by default."""
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    def masked(self) -> dict[str, Any]:
        """Settings as a dict with secrets (and passwords in URLs) hidden."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name in {"database_url", "backup_repo"} and value:
                value = _mask_url_password(value)
            shown[name] = value
        shown["database_url"] = _mask_url_password(self.effective_database_url)
        return shown


def _mask_url_password(url: str) -> str:
    """Hide the password part of `scheme://user:password@host/...`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':********' if has_password else ''}@{host}"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, where the system tells it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)
