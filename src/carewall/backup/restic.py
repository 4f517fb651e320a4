"""`BackupStore` on restic, run as a subprocess.

The password and the repository location reach restic through the child's
environment (`RESTIC_PASSWORD`, `RESTIC_REPOSITORY`), never its command line,
where any user of the machine could read them in the process list. The child
gets none of Carewall's own `CAREWALL_*` settings either. restic's output is
turned into typed errors here (restic 0.14 exits 1 for every fatal error, so
the message is what tells a wrong password from a missing repository).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from carewall.backup.errors import (
    BackupBusyError,
    BackupError,
    DiskFullError,
    RepositoryNotFoundError,
    ResticMissingError,
    WrongPasswordError,
)
from carewall.backup.interfaces import (
    BackupSummary,
    CheckReport,
    Progress,
    RetentionPolicy,
    Snapshot,
    StoredFile,
)

TAG = "carewall"
HOST = "carewall"  # one series of snapshots, whatever the machine is called after a rebuild
_CHUNK = 1 << 16
_SCHEMES = ("sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:", "local:")
_PACK_MISMATCH = re.compile(r"Pack ID does not match, want ([0-9a-f]{64})")
_PACK_ID = re.compile(r"\bpack ([0-9a-f]{8,64})\b", re.IGNORECASE)


def repository_location(value: str) -> str:
    """A repository URL as is, or a path made absolute (restic runs in another directory)."""
    if value.startswith(_SCHEMES):
        return value
    return str(Path(value).expanduser().resolve())


def mask_location(location: str) -> str:
    """The location with any `user:password@` credentials hidden."""
    return re.sub(r"//([^/@:]+):[^/@]*@", r"//\1:********@", location)


class ResticStore:
    """A restic repository opened with one password."""

    def __init__(
        self,
        repository: str,
        password: str,
        *,
        program: str = "restic",
        cache_dir: Path | None = None,
        limit_upload_kib: int = 0,
    ) -> None:
        self._repository = repository_location(repository)
        self._password = password
        self._program = program
        self._cache_dir = cache_dir
        self._limit_upload = limit_upload_kib

    @property
    def location(self) -> str:
        """Where the repository is, credentials hidden."""
        return mask_location(self._repository)

    def exists(self) -> bool:
        """Whether a repository opens at the location with this password."""
        try:
            self._run("cat", "config")
        except RepositoryNotFoundError:
            return False
        return True

    def init(self) -> None:
        """Create the repository (format 2: compressed)."""
        self._run("init", "--repository-version", "2")

    def backup(self, source: Path, tags: Sequence[str], progress: Progress | None) -> BackupSummary:
        """Snapshot `source` with paths relative to it, streaming progress from restic's JSON."""
        args = ["backup", "--json", "--host", HOST, "--tag", ",".join([TAG, *tags])]
        if self._limit_upload:
            args += ["--limit-upload", str(self._limit_upload)]
        summary: dict[str, Any] = {}
        with self._popen(*args, ".", cwd=source) as lines:
            for line in lines:
                message = _json_line(line)
                kind = message.get("message_type")
                if kind == "status" and progress is not None:
                    progress(float(message.get("percent_done") or 0.0))
                elif kind == "summary":
                    summary = message
        if not summary.get("snapshot_id"):
            raise BackupError("restic finished without reporting a snapshot.")
        return BackupSummary(
            snapshot_id=str(summary["snapshot_id"]),  # restic 0.14: the short id
            bytes_processed=int(summary.get("total_bytes_processed") or 0),
            bytes_added=int(summary.get("data_added") or 0),
            files=int(summary.get("total_files_processed") or 0),
        )

    def snapshots(self) -> list[Snapshot]:
        """Carewall's snapshots, oldest first."""
        out = self._run("snapshots", "--json", "--tag", TAG)
        rows = json.loads(out or "[]") or []
        found = [_snapshot(row) for row in rows]
        return sorted(found, key=lambda s: s.time)

    def restore(self, snapshot: str, target: Path) -> None:
        """Restore `snapshot` (id, short id or `latest`) into `target`."""
        self._run("restore", snapshot, "--target", str(target), *self._latest_filter(snapshot))

    def files(self, snapshot: str) -> list[StoredFile]:
        """Files of the snapshot, paths relative to its root."""
        out = self._run("ls", "--json", snapshot, *self._latest_filter(snapshot))
        found = []
        for line in out.splitlines():
            node = _json_line(line)
            if node.get("struct_type") == "node" and node.get("type") == "file":
                found.append(StoredFile(str(node["path"]).lstrip("/"), int(node.get("size") or 0)))
        return found

    def read(self, snapshot: str, path: str, sink: Callable[[bytes], None]) -> None:
        """Stream one file through `restic dump`."""
        args = ("dump", *self._latest_filter(snapshot), snapshot, "/" + path.lstrip("/"))
        with self._popen(*args, binary=True) as chunks:
            for chunk in chunks:
                sink(chunk)

    def size(self, snapshot: str) -> tuple[int, int]:
        """Restore size and file count of one snapshot."""
        stats = json.loads(self._run("stats", "--json", snapshot) or "{}")
        return int(stats.get("total_size") or 0), int(stats.get("total_file_count") or 0)

    def check(self, *, read_data: bool) -> CheckReport:
        """`restic check` (with `--read-data`: every pack is read and its hash compared)."""
        args = ["check", "--read-data"] if read_data else ["check"]
        completed = self._completed(*args)
        if completed.returncode == 0:
            return CheckReport(ok=True)
        output = f"{completed.stdout}\n{completed.stderr}"
        problems = _damage(output)
        if not problems:
            raise _error(completed.stderr)
        return CheckReport(ok=False, problems=tuple(problems))

    def forget(self, policy: RetentionPolicy) -> None:
        """`restic forget --prune` with the keep-daily/weekly/monthly policy."""
        if policy.keeps_everything:
            return
        self._run(
            "forget",
            "--prune",
            "--tag",
            TAG,
            "--group-by",
            "host",
            "--keep-daily",
            str(policy.daily),
            "--keep-weekly",
            str(policy.weekly),
            "--keep-monthly",
            str(policy.monthly),
        )

    def unlock_stale(self) -> None:
        """`restic unlock` removes only locks whose process is gone."""
        self._run("unlock")

    # -- running restic ---------------------------------------------------------------

    @staticmethod
    def _latest_filter(snapshot: str) -> list[str]:
        return ["--tag", TAG] if snapshot == "latest" else []

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CAREWALL_", "RESTIC_"))
        }
        env["RESTIC_REPOSITORY"] = self._repository
        env["RESTIC_PASSWORD"] = self._password
        env["RESTIC_PROGRESS_FPS"] = "1"
        if self._cache_dir is not None:
            env["RESTIC_CACHE_DIR"] = str(self._cache_dir)
        return env

    def _command(self, args: Sequence[str]) -> list[str]:
        program = shutil.which(self._program)
        if program is None:
            raise ResticMissingError(self._program)
        cache = [] if self._cache_dir is not None else ["--no-cache"]
        return [program, *cache, *args]

    def _completed(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(  # noqa: S603 - our own fixed arguments, no shell
                self._command(args),
                env=self._environment(),
                capture_output=True,
                text=True,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise ResticMissingError(self._program) from exc

    def _run(self, *args: str) -> str:
        completed = self._completed(*args)
        if completed.returncode != 0:
            raise _error(completed.stderr)
        return completed.stdout

    @contextmanager
    def _popen(
        self, *args: str, cwd: Path | None = None, binary: bool = False
    ) -> Iterator[Iterator[Any]]:
        """Run restic, yielding its stdout (lines, or chunks when `binary`) as it comes."""
        with tempfile.TemporaryFile() as errors:
            try:
                process = subprocess.Popen(  # noqa: S603 - our own fixed arguments, no shell
                    self._command(args),
                    env=self._environment(),
                    cwd=cwd,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    stdin=subprocess.DEVNULL,
                    text=not binary,
                )
            except FileNotFoundError as exc:
                raise ResticMissingError(self._program) from exc
            try:
                assert process.stdout is not None
                yield _chunks(process.stdout) if binary else iter(process.stdout)
            finally:
                if process.stdout is not None:
                    process.stdout.close()
                returncode = process.wait()
            if returncode != 0:
                errors.seek(0)
                raise _error(errors.read().decode("utf-8", "replace"))


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _json_line(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _snapshot(row: dict[str, Any]) -> Snapshot:
    return Snapshot(
        id=str(row["id"]),
        short_id=str(row.get("short_id") or row["id"][:8]),
        time=_parse_time(str(row["time"])),
        hostname=str(row.get("hostname") or ""),
        tags=tuple(str(tag) for tag in row.get("tags") or ()),
    )


def _parse_time(value: str) -> datetime:
    """restic's RFC 3339 times carry nanoseconds, which `fromisoformat` refuses."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if match is None:
        raise BackupError(f"restic reported a time Carewall does not understand: {value[:40]}")
    base, fraction, zone = match.groups()
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    parsed = datetime.fromisoformat(f"{base}.{micros}{'+00:00' if zone == 'Z' else zone}")
    return parsed.astimezone(UTC)


def _damage(output: str) -> list[str]:
    """The damaged parts restic named (pack ids first), in its own words otherwise."""
    problems: list[str] = []
    for pack in dict.fromkeys(_PACK_MISMATCH.findall(output)):
        problems.append(
            f"pack {pack} (data/{pack[:2]}/{pack}) is damaged: its content does not match its id"
        )
    for line in output.splitlines():
        text = line.strip()
        lowered = text.lower()
        if not text or "no errors were found" in lowered or _PACK_MISMATCH.search(text):
            continue
        if "error" in lowered or _PACK_ID.search(text) or "missing" in lowered:
            if text.startswith("Fatal: repository contains errors"):
                continue
            problems.append(text[:200])
    return problems[:20]


def _error(stderr: str) -> BackupError:
    """A typed error for restic's failure message."""
    lowered = stderr.lower()
    if "wrong password" in lowered:
        return WrongPasswordError(
            "The backup password does not open this repository (wrong password)."
        )
    if "unable to open config file" in lowered or "is there a repository" in lowered:
        return RepositoryNotFoundError(
            "There is no backup repository at the configured location. "
            "Create one with `carewall backup init`."
        )
    if "already locked" in lowered:
        return BackupBusyError(
            "The repository is in use by another backup or check; try again when it ends."
        )
    if "no space left on device" in lowered:
        return DiskFullError("The disk holding the backup repository is full.")
    if "config file already exists" in lowered:
        return BackupError("A repository already exists at that location.", code="repo_exists")
    return BackupError(f"restic failed: {_last_line(stderr)}")


def _last_line(stderr: str) -> str:
    """restic's own summary of the failure, with any credentials in a URL hidden."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("Fatal:")]
    chosen = (fatal or lines or ["no message"])[-1]
    return mask_location(chosen.removeprefix("Fatal: "))[:200]
