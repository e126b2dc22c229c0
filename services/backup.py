"""Backup and restore: one archive holding everything a Shouhu installation needs to come back.

A backup is one tar file (gzip-compressed when its name ends in `.gz` or `.tgz`), mode 0600 because
it holds children's data, written to a temporary file and renamed into place, so a reader never sees
half an archive. Members, in the order they are written:

    anchors/…                 the timeline anchors (tasks.anchors.directory()), copied first
    keys/timeline_key         the seal key file, when the key is kept in SHOUHU_HOME (not SHOUHU_TIMELINE_KEY)
    keys/secret_key           the session-cookie key file, when kept in SHOUHU_HOME
    database/shouhu.sqlite3   SQLite: the online backup API's copy (consistent while the app writes)
    database/shouhu.pgdump    PostgreSQL: `pg_dump --format=custom` of one snapshot
    attachments/…             $SHOUHU_HOME/attachments, when it exists, copied after the database
    manifest.json             format, created_at, backend, schema revision, the timeline key's fingerprint,
                              counts (cases, events, users) and every other member's sha256 and size

The order keeps the pieces consistent with each other without stopping the app: every anchor copied
names heads the database copy already holds (chains only grow), and every attachment the database copy
refers to was written before the row that names it. The manifest comes last so both sides stream the
archive once: restore checks every member against it before anything is changed.

Restore refuses, changing nothing: a damaged or unsafe archive (naming the member), another backend, a
schema newer than this code, a timeline key other than the one the backup was sealed with, a file under
SHOUHU_HOME that differs from the archive's, and a target database that is not empty. "Empty" means no
tables at all: a new PostgreSQL database (`createdb`) or a new SQLite file; do not run `shouhu init` on it
first. Then it restores the database (SQLite: the backup API; PostgreSQL: `pg_restore` in one
transaction), puts the files back and upgrades the schema (an older backup comes up to date).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from shouhu import clock, config, db, migrate, timeline
from shouhu.errors import InvalidInput, ShouhuError
from tasks import anchors

FORMAT = "shouhu-backup"
VERSION = 1  # the archive layout; a restore accepts only versions it knows
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database/shouhu.sqlite3", "postgresql": "database/shouhu.pgdump"}
KEY_FILES = ("timeline_key", "secret_key")  # shouhu.timeline.timeline_key(), web.session.secret_key()
# Every name an archive may hold: anything else (an absolute path, `..`, a link) is refused.
_MEMBER = re.compile(
    r"^(manifest\.json|database/shouhu\.(sqlite3|pgdump)|keys/(timeline_key|secret_key)"
    r"|(anchors|attachments)/[^\x00]+)$"
)
_CHUNK = 1 << 20


# ---- backup ----------------------------------------------------------------------------
def backup(out: Path, keys: bool = True) -> dict[str, Any]:
    """Write the archive to `out` (0600, atomically). `keys=False` leaves the key files out, for
    operators who keep the keys apart from the database backups (README "Security")."""
    started = time.perf_counter()
    url = config.database_url()
    backend = _backend(url)
    out = Path(out).expanduser().resolve()
    _check_output(out, url)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")  # mode 0600
    tmp = Path(tmp_name)
    members: dict[str, dict[str, Any]] = {}
    try:
        compressed = out.name.endswith((".gz", ".tgz"))
        with os.fdopen(fd, "wb") as raw:
            with (
                (
                    tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6)
                    if compressed
                    else tarfile.open(fileobj=raw, mode="w")
                ) as tar,
                tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.work-") as work,
            ):
                mtime = int(clock.now().timestamp())
                for name, path in _files_under("anchors", anchors.directory()):
                    members[name] = _add_file(tar, name, path, mtime)
                if keys:
                    for key_name in KEY_FILES:
                        path = config.home() / key_name
                        if path.is_file():
                            members[f"keys/{key_name}"] = _add_file(tar, f"keys/{key_name}", path, mtime, mode=0o600)
                dump = Path(work) / "database"
                facts = _snapshot_sqlite(url, dump) if backend == "sqlite" else _snapshot_postgresql(url, dump)
                members[DATABASE_MEMBER[backend]] = _add_file(tar, DATABASE_MEMBER[backend], dump, mtime, mode=0o600)
                dump.unlink()
                for name, path in _files_under("attachments", config.home() / "attachments"):
                    members[name] = _add_file(tar, name, path, mtime, mode=0o600)
                manifest = {
                    "format": FORMAT,
                    "version": VERSION,
                    "created_at": clock.now().isoformat(),
                    "backend": backend,
                    **facts,
                    "members": members,
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
                _add_bytes(tar, MANIFEST, body, mtime)
            raw.flush()
            os.fsync(raw.fileno())  # the whole archive, trailer included, is on disk before it takes the name
        os.replace(tmp, out)
        os.chmod(out, 0o600)
        _fsync_directory(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
    counts = facts["counts"]
    return {
        "ok": True,
        "file": str(out),
        "bytes": out.stat().st_size,
        "backend": backend,
        "revision": facts["revision"],
        "cases": counts["cases"],
        "events": counts["events"],
        "seconds": round(time.perf_counter() - started, 3),
    }


def _check_output(out: Path, url: str) -> None:
    """The archive must not land on the database or inside a directory it copies (it would copy itself)."""
    if out.is_dir():
        raise InvalidInput(
            "invalid_output", f"{out} is a directory; give a file name such as shouhu-2026-11-24.tar.gz", "out"
        )
    places = [anchors.directory().resolve(), (config.home() / "attachments").resolve()]
    if _backend(url) == "sqlite":
        database = Path(make_url(url).database or "").resolve()
        if out in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            raise InvalidInput(
                "invalid_output", "the backup file cannot be the database file; give another name", "out"
            )
    if any(out.is_relative_to(place) for place in places):
        raise InvalidInput(
            "invalid_output",
            "the backup file cannot be inside the anchors or attachments directory it copies; write it elsewhere",
            "out",
        )


def _fsync_directory(folder: Path) -> None:
    """The rename itself survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _files_under(prefix: str, folder: Path) -> list[tuple[str, Path]]:
    """Regular files under `folder` as (member name, path), in a stable order; links are not followed."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found.append((f"{prefix}/{path.relative_to(folder).as_posix()}", path))
    return found


class _Hashing:
    """A file read through once by tarfile, hashed on the way (no second read, no window between the two)."""

    def __init__(self, f: IO[bytes]):
        self.f, self.sha, self.count = f, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.f.read(size)
        self.sha.update(chunk)
        self.count += len(chunk)
        return chunk


def _add_file(tar: tarfile.TarFile, name: str, path: Path, mtime: int, mode: int | None = None) -> dict[str, Any]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size  # an append-only file (anchors.log) is copied as it was at open
        info = _info(name, size, mtime, mode if mode is not None else os.fstat(f.fileno()).st_mode & 0o770)
        reader = _Hashing(f)
        tar.addfile(info, reader)
    return {"sha256": reader.sha.hexdigest(), "bytes": reader.count}


def _add_bytes(tar: tarfile.TarFile, name: str, body: bytes, mtime: int) -> None:
    tar.addfile(_info(name, len(body), mtime, 0o600), io.BytesIO(body))


def _info(name: str, size: int, mtime: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _snapshot_sqlite(url: str, dump: Path) -> dict[str, Any]:
    """SQLite's online backup API into `dump`: one consistent copy while the app keeps writing (WAL)."""
    source_path = Path(make_url(url).database or "")
    if not source_path.is_file():
        raise InvalidInput(
            "database_missing",
            f"there is no SQLite database at {source_path}; nothing to back up",
            "SHOUHU_DATABASE_URL",
        )
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(dump)
    try:
        source.backup(target)  # all pages in one step: never restarted by a concurrent write
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        return _facts(
            lambda sql: target.execute(sql).fetchone(),
            lambda table: (
                target.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
                is not None
            ),
        )
    finally:
        target.close()
        source.close()


def _snapshot_postgresql(url: str, dump: Path) -> dict[str, Any]:
    """`pg_dump --format=custom` of a snapshot this transaction exports, so the counts and revision in
    the manifest describe exactly the rows in the dump."""
    pg_dump = _tool("pg_dump")
    with db.engine(url).connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        facts = _facts(
            lambda sql: conn.execute(text(sql)).fetchone(),
            lambda table: conn.execute(text("SELECT to_regclass(:t)"), {"t": f'"{table}"'}).scalar() is not None,
        )
        libpq, env = _libpq(url)
        _run(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={libpq}",
            ],
            env,
            "pg_dump",
        )
        conn.rollback()
    return facts


def _facts(one: Callable[[str], Any], has_table: Callable[[str], bool]) -> dict[str, Any]:
    """What the manifest says about the copied database, read from that same copy or snapshot."""
    row = one("SELECT version_num FROM alembic_version") if has_table("alembic_version") else None
    revision = row[0] if row else None
    found = one("SELECT value FROM setting WHERE key = 'timeline_key_fingerprint'") if has_table("setting") else None
    counts = {
        name: one(f'SELECT count(*) FROM "{table}"')[0]  # noqa: S608 - three fixed table names
        for name, table in (("cases", "case"), ("events", "timelineevent"), ("users", "user"))
    }
    return {"revision": revision, "timeline_key_fingerprint": found[0] if found else None, "counts": counts}


# ---- restore ---------------------------------------------------------------------------
def restore(archive: Path) -> dict[str, Any]:
    """Bring an archive back into the configured (empty) database and SHOUHU_HOME, then upgrade the
    schema. Every check comes before the first change: a refused restore changes nothing."""
    started = time.perf_counter()
    archive = Path(archive).expanduser()
    if not archive.is_file():
        raise InvalidInput(
            "archive_missing", f"{archive} is not a file; give the path of a backup made by `shouhu backup`", "archive"
        )
    url = config.database_url()
    backend = _backend(url)
    home = config.home()
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home, prefix=".restore-") as work:
        staged = Path(work)
        manifest = _unpack(archive, staged)
        if manifest["backend"] != backend:
            raise InvalidInput(
                "backend_mismatch",
                f"the backup is of a {manifest['backend']} database but "
                f"SHOUHU_DATABASE_URL is {backend}; restore it into a {manifest['backend']} database",
                "SHOUHU_DATABASE_URL",
            )
        _check_revision(manifest.get("revision"))
        placements = _placements(manifest, staged)
        _check_key(manifest, staged)
        _check_empty(url, backend)
        db.dispose(url)
        dump = staged / DATABASE_MEMBER[backend]
        if backend == "sqlite":
            _restore_sqlite(url, dump)
        else:
            _restore_postgresql(url, dump)
        for source, target, mode in placements:
            _place(source, target, mode)
    db.dispose(url)
    upgraded = migrate.upgrade(url)
    if upgraded.pop("seal_legacy"):  # as shouhu db upgrade does: rows from before seals are sealed once
        with db.transaction(url) as s:
            timeline.seal_legacy(s)
    with db.engine(url).connect() as conn:
        counts = _facts(lambda sql: conn.execute(text(sql)).fetchone(), lambda _table: True)["counts"]
    if any(counts[k] < manifest["counts"][k] for k in counts):
        raise ShouhuError(
            "restore_incomplete",
            f"the restored database holds {counts} but the backup recorded "
            f"{manifest['counts']}; do not use it, restore again into a new empty database",
            "archive",
        )
    return {
        "ok": True,
        "cases": counts["cases"],
        "events": counts["events"],
        "users": counts["users"],
        "revision": upgraded["to"],
        "backup_revision": manifest.get("revision"),
        "created_at": manifest["created_at"],
        "seconds": round(time.perf_counter() - started, 3),
    }


def _unpack(archive: Path, staged: Path) -> dict[str, Any]:
    """Stream every member into `staged`, hashing it; then hold each against the manifest."""
    seen: dict[str, dict[str, Any]] = {}
    manifest_body: bytes | None = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for info in tar:
                name = info.name
                if not info.isfile() or not _safe(name):
                    raise InvalidInput(
                        "archive_unsafe_member",
                        f"the archive holds {_shown(name)!r}, which a Shouhu "
                        "backup never does (only regular files under anchors/, attachments/, keys/, "
                        "database/ and manifest.json); refused",
                        "archive",
                    )
                source = tar.extractfile(info)
                if source is None:
                    raise InvalidInput("archive_damaged", f"member {_shown(name)} cannot be read", "archive")
                if name == MANIFEST:
                    manifest_body = source.read(16 * _CHUNK)
                    continue
                target = staged / name
                target.parent.mkdir(parents=True, exist_ok=True)
                sha, count = hashlib.sha256(), 0
                with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                    while chunk := source.read(_CHUNK):
                        sha.update(chunk)
                        count += len(chunk)
                        f.write(chunk)
                seen[name] = {"sha256": sha.hexdigest(), "bytes": count}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InvalidInput(
            "archive_damaged",
            f"{archive.name} cannot be read to its end as a tar archive "
            f"({type(exc).__name__}); it is damaged or not a Shouhu backup",
            "archive",
        ) from None
    manifest = _manifest(manifest_body)
    expected = manifest["members"]
    for name in sorted(set(expected) | set(seen)):
        if name not in seen:
            raise InvalidInput(
                "archive_damaged", f"member {_shown(name)} is named in the manifest but missing", "archive"
            )
        if name not in expected:
            raise InvalidInput("archive_damaged", f"member {_shown(name)} is not in the manifest", "archive")
        if seen[name]["sha256"] != expected[name].get("sha256") or seen[name]["bytes"] != expected[name].get("bytes"):
            raise InvalidInput(
                "archive_damaged",
                f"member {_shown(name)} does not match its sha256 in the manifest; "
                "the archive is damaged, restore another backup",
                "archive",
            )
    if DATABASE_MEMBER[manifest["backend"]] not in seen:
        raise InvalidInput("archive_damaged", "the archive holds no database", "archive")
    return manifest


def _manifest(body: bytes | None) -> dict[str, Any]:
    if body is None:
        raise InvalidInput(
            "archive_damaged", "the archive has no manifest.json; it is not a Shouhu backup or was cut short", "archive"
        )
    try:
        manifest = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("archive_damaged", "manifest.json is not JSON", "archive") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput("archive_damaged", f"manifest.json is not a {FORMAT} manifest", "archive")
    if manifest.get("version") != VERSION:
        raise InvalidInput(
            "backup_version_unknown",
            f"the archive's layout is version {manifest.get('version')!r}; this Shouhu reads version {VERSION} only",
            "archive",
        )
    if (
        manifest.get("backend") not in DATABASE_MEMBER
        or not isinstance(manifest.get("members"), dict)
        or not isinstance(manifest.get("counts"), dict)
    ):
        raise InvalidInput(
            "archive_damaged", "manifest.json lacks backend (sqlite or postgresql), members or counts", "archive"
        )
    return manifest


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        bool(_MEMBER.match(name)) and not path.is_absolute() and all(p not in ("", ".", "..") for p in name.split("/"))
    )


def _shown(name: str) -> str:
    """A member's name for an error: attachment file names could say something about a child."""
    return "attachments/…" if name.startswith("attachments/") else name[:200]


def _check_revision(revision: str | None) -> None:
    """A backup from newer code cannot be brought down: say which Shouhu can restore it."""
    from alembic.script import ScriptDirectory

    if revision is None:
        return
    try:
        known = ScriptDirectory(str(migrate.MIGRATIONS)).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        known = False
    if not known:
        raise InvalidInput(
            "revision_unknown",
            f"the backup's schema is at revision {revision}, which this Shouhu does "
            f"not know (its newest is {migrate.head()}); restore it with the Shouhu that made it or newer",
            "archive",
        )


def _placements(manifest: dict[str, Any], staged: Path) -> list[tuple[Path, Path, int | None]]:
    """Where each file member goes; a file already there with other content is refused, never overwritten."""
    out: list[tuple[Path, Path, int | None]] = []
    for name, meta in sorted(manifest["members"].items()):
        top, _, rest = name.partition("/")
        if top == "database":
            continue
        target = {"anchors": anchors.directory(), "attachments": config.home() / "attachments", "keys": config.home()}[
            top
        ] / rest
        if target.exists():
            if not target.is_file() or _sha256(target) != meta["sha256"]:
                code = "key_file_differs" if top == "keys" else "file_differs"
                raise InvalidInput(
                    code,
                    f"{target if top != 'attachments' else _shown(name)} already exists with "
                    "other content; restore into a new SHOUHU_HOME (or move that file away): nothing is "
                    "overwritten",
                    "SHOUHU_HOME",
                )
            continue
        out.append((staged / name, target, 0o600 if top in ("keys", "attachments") else None))
    return out


def _check_key(manifest: dict[str, Any], staged: Path) -> None:
    """The key in effect after the restore must be the one the backup's timelines are sealed with,
    else every case would read as tampered with. Compared by fingerprint: no key is ever shown."""
    recorded = manifest.get("timeline_key_fingerprint")
    if recorded is None:
        return
    given, file, archived = config.settings().timeline_key, config.home() / "timeline_key", staged / "keys/timeline_key"
    if given:
        key, source = given.encode("utf-8"), "SHOUHU_TIMELINE_KEY"
    elif file.is_file():
        key, source = file.read_text().strip().encode("utf-8"), str(file)
    elif archived.is_file():
        key, source = archived.read_text().strip().encode("utf-8"), "the archive's keys/timeline_key"
    else:
        raise InvalidInput(
            "wrong_timeline_key",
            f"the backup's timelines are sealed with the key of fingerprint {recorded}, "
            "which the archive does not hold (it was kept apart); set SHOUHU_TIMELINE_KEY to it",
            "SHOUHU_TIMELINE_KEY",
        )
    found = hmac.new(key, b"shouhu timeline key", hashlib.sha256).hexdigest()[:16]  # as timeline.key_fingerprint()
    if found != recorded:
        raise InvalidInput(
            "wrong_timeline_key",
            f"the backup's timelines are sealed with the key of fingerprint {recorded}"
            f", but the key from {source} has fingerprint {found}; set SHOUHU_TIMELINE_KEY to the key "
            "the backup was sealed with",
            "SHOUHU_TIMELINE_KEY",
        )


def _check_empty(url: str, backend: str) -> None:
    """Restore only into a database with no tables: never merged into, never overwriting, live data."""
    if backend == "sqlite":
        path = Path(make_url(url).database or "")
        if not path.exists():
            return
        lite = sqlite3.connect(path, timeout=30)
        try:
            tables = lite.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
        finally:
            lite.close()
    else:
        with db.engine(url).connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN "
                    "('pg_catalog', 'information_schema')"
                )
            ).scalar_one()
        db.dispose(url)
    if tables:
        raise InvalidInput(
            "database_not_empty",
            f"the database SHOUHU_DATABASE_URL names already has {tables} tables; "
            "restore only into an empty one (a new PostgreSQL database, or a new SQLite file; do not "
            "run shouhu init on it first): nothing was changed",
            "SHOUHU_DATABASE_URL",
        )


def _restore_sqlite(url: str, dump: Path) -> None:
    path = Path(make_url(url).database or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    target = sqlite3.connect(path, timeout=30)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")  # as shouhu.db sets on every connection
    finally:
        target.close()
        source.close()


def _restore_postgresql(url: str, dump: Path) -> None:
    """One transaction: a failed pg_restore leaves the database empty, to be tried again."""
    pg_restore = _tool("pg_restore")
    libpq, env = _libpq(url)
    _run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={libpq}",
            str(dump),
        ],
        env,
        "pg_restore",
    )


def _place(source: Path, target: Path, mode: int | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, tmp)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, target)


# ---- shared ----------------------------------------------------------------------------
def _backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in DATABASE_MEMBER:
        raise InvalidInput(
            "backend_unsupported",
            f"backup and restore support sqlite and postgresql, not {name}",
            "SHOUHU_DATABASE_URL",
        )
    return name


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """SQLAlchemy's `postgresql+psycopg://` URL as libpq's `postgresql://`; the password goes in
    PGPASSWORD, never on a command line others can read in `ps`."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise InvalidInput(
            f"{name}_missing",
            f"{name} is not on PATH; install the PostgreSQL client tools of the "
            f"server's major version (Debian: apt-get install postgresql-client)",
            name,
        )
    return found


def _run(argv: list[str], env: dict[str, str], name: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # DETAIL/CONTEXT/LINE lines can quote row values (a child's data): only the error lines are shown.
        said = [
            line
            for line in done.stderr.splitlines()
            if line.strip() and not line.lstrip().startswith(("DETAIL", "CONTEXT", "LINE", "HINT", "Command was"))
        ]
        raise ShouhuError(f"{name}_failed", f"{name} exited with {done.returncode}: {' | '.join(said)[:400]}", name)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()
