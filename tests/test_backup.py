"""Backup and restore (services.backup), on SQLite and PostgreSQL: a busy database comes back whole
into a new empty database and a new SHOUHU_HOME — every table's rows, every case, every timeline event,
the anchors and the key files — and `verify --all` holds there; a damaged archive, a database that is
not empty, another backend and a different key file are refused, changing nothing."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, arrive, make_report
from sqlalchemy import func, inspect
from sqlmodel import Session, SQLModel, col, select

from models import Case, TimelineEvent
from services import backup, cases, deadlines, reading, reports, setup
from shouhu import clock, config, db, timeline
from shouhu.errors import InvalidInput


def busy_database() -> list[str]:
    """Reports through the real service, a task completed, a sweep that fires reminders, an anchor
    taken, and reads after it (so the anchored heads are not the newest)."""
    opened = [reports.submit_report(make_report(), "sx-intake") for _ in range(3)]
    opened.append(reports.submit_report(make_report(situations=["missing"]), "sx-intake"))
    arrive(opened[0]["case_id"], "sx-police")
    clock.set_now(T0 + timedelta(hours=7))
    deadlines.sweep()  # reminders fire (the round-trip test checks clockfire rows came back)
    deadlines.anchor_now("sixian")
    for case in opened[:2]:
        cases.show_case(case["case_no"], "sx-police")
    return [c["case_no"] for c in opened]


def snapshot() -> dict[str, Any]:
    """Everything compared after a restore: the rows of every table, every case, every event."""
    with Session(db.engine()) as s:
        tables = {
            name: s.exec(select(func.count()).select_from(t)).one() for name, t in SQLModel.metadata.tables.items()
        }
        case_rows = [
            tuple(row)
            for row in s.exec(
                select(
                    Case.case_no,
                    Case.stage,
                    Case.status,
                    Case.version,
                    Case.timeline_seq,
                    Case.timeline_head,
                    Case.seal,
                ).order_by(col(Case.case_no))
            ).all()
        ]
        events = [
            tuple(row)
            for row in s.exec(
                select(Case.case_no, TimelineEvent.seq, TimelineEvent.kind, TimelineEvent.prev_hash, TimelineEvent.hash)
                .join(Case, Case.id == TimelineEvent.case_id)
                .order_by(col(Case.case_no), col(TimelineEvent.seq))
            ).all()
        ]
    return {"tables": tables, "cases": case_rows, "events": events}


@contextmanager
def empty_database(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    """A new empty database of the given backend: a SQLite path not yet made, or a new PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / name / 'shouhu.db'}"
        yield url
        db.dispose(url)
        return
    from pgtemp import Unreachable, temporary_database

    try:
        with temporary_database("shouhu_restore") as url:
            yield url
    except Unreachable as exc:
        pytest.skip(str(exc))


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def table_count(url: str) -> int:
    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    with db.engine(url).connect() as conn:
        found = len(inspect(conn).get_table_names())
    db.dispose(url)
    return found


def files_under(folder: Path) -> dict[str, bytes]:
    return (
        {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        if folder.exists()
        else {}
    )


def use(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    monkeypatch.setenv("SHOUHU_DATABASE_URL", url)
    monkeypatch.setenv("SHOUHU_HOME", str(home))


def keys_in_home(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The seal key kept in SHOUHU_HOME/timeline_key (the same key the database was sealed with, so
    the file is what the restore must bring back) and the session key file the web app makes."""
    from web import session

    key = os.environ["SHOUHU_TIMELINE_KEY"]  # set for the session by conftest's prefect_server
    config.home().mkdir(parents=True, exist_ok=True)
    (config.home() / "timeline_key").write_text(key)
    os.chmod(config.home() / "timeline_key", 0o600)
    monkeypatch.delenv("SHOUHU_TIMELINE_KEY")
    return {"timeline_key": key, "secret_key": session.secret_key()}


def test_a_busy_database_comes_back_whole_and_verified(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = busy_database()
    keys = keys_in_home(monkeypatch)
    fingerprint = backup.hmac.new(
        keys["timeline_key"].encode(), b"shouhu timeline key", backup.hashlib.sha256
    ).hexdigest()
    assert timeline.key_fingerprint() == fingerprint[:16]  # the restore's key check computes it as timeline does
    before = snapshot()
    assert before["tables"]["case"] >= 4 and before["tables"]["clockfire"] >= 1 and before["tables"]["task"] > 4
    anchors_before = files_under(config.home() / "anchors")
    assert "anchors.log" in anchors_before and len(anchors_before) >= 2
    verified = cases.verify_all()
    assert verified["ok"] and verified["anchors"]["heads_checked"] >= 4, verified
    attachment = config.home() / "attachments" / "a1" / "scan.bin"  # issue 15's directory, copied when present
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(os.urandom(3000))

    made = backup.backup(tmp_path / "out" / "shouhu.tar.gz")
    archive = Path(made["file"])
    assert made["ok"] and made["backend"] == kind_of(db_url) and made["bytes"] == archive.stat().st_size
    assert (made["cases"], made["events"]) == (before["tables"]["case"], before["tables"]["timelineevent"])
    assert made["revision"] == setup.schema_revision()["head"]
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert os.listdir(archive.parent) == [archive.name]  # no temporary file left behind
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[-1] == "manifest.json" and {
        "keys/timeline_key",
        "keys/secret_key",
        "anchors/anchors.log",
        "attachments/a1/scan.bin",
    } <= set(names)

    with empty_database(kind_of(db_url), tmp_path, "restored") as target:
        home = tmp_path / "restored-home"
        use(monkeypatch, target, home)
        clock.set_now(T0 + timedelta(hours=8))
        restored = backup.restore(archive)
        assert restored["ok"] and (restored["cases"], restored["events"]) == (made["cases"], made["events"])
        assert restored["revision"] == made["revision"]
        after = snapshot()
        assert after == before  # every table's rows, every case's state and head, every event's hash
        assert files_under(home / "anchors") == anchors_before
        assert (home / "attachments" / "a1" / "scan.bin").read_bytes() == attachment.read_bytes()
        for name, value in keys.items():
            assert (home / name).read_text().strip() == value and stat.S_IMODE((home / name).stat().st_mode) == 0o600
        assert "SHOUHU_TIMELINE_KEY" not in os.environ  # the seal key now comes from the restored file
        result = cases.verify_all()
        assert result["ok"] and result["cases"] == made["cases"] and result["anchors"]["heads_checked"] >= 4, result
        # the restored installation goes on working: a new case gets a new number, and verifies
        again = reports.submit_report(make_report(), "sx-intake")
        assert again["case_no"] not in numbers and cases.verify_case(again["case_no"], "sx-police")["ok"]


def test_a_damaged_archive_is_refused_and_changes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_database()
    archive = Path(backup.backup(tmp_path / "shouhu.tar")["file"])
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("database/"))
    data = bytearray(archive.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0x01  # one bit of the database copy
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.tar.gz"
    gz = Path(backup.backup(tmp_path / "whole.tar.gz")["file"]).read_bytes()
    truncated.write_bytes(gz[: len(gz) * 2 // 3])
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("not an archive")

    with empty_database(kind_of(db_url), tmp_path, "target") as target:
        home = tmp_path / "target-home"
        use(monkeypatch, target, home)
        for bad, says in ((damaged, member.name), (truncated, "cannot be read"), (not_tar, "cannot be read")):
            with pytest.raises(InvalidInput) as refused:
                backup.restore(bad)
            assert refused.value.code == "archive_damaged" and says in refused.value.message, refused.value.message
            assert table_count(target) == 0
            assert (
                not (home / "anchors").exists()
                and not (home / "timeline_key").exists()
                and not (home / "secret_key").exists()
            )
            assert list(home.iterdir()) == []  # no staging directory left behind
        assert backup.restore(archive)["ok"]  # the undamaged archive restores into the same target


def test_a_database_that_is_not_empty_is_refused_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    busy_database()
    archive = Path(backup.backup(tmp_path / "shouhu.tar")["file"])
    reports.submit_report(make_report(), "sx-intake")  # the live database moved on after the backup
    before, anchors_before = snapshot(), files_under(config.home() / "anchors")
    with pytest.raises(InvalidInput) as refused:
        backup.restore(archive)
    assert refused.value.code == "database_not_empty" and "empty" in refused.value.message
    assert snapshot() == before and files_under(config.home() / "anchors") == anchors_before
    assert cases.verify_all()["ok"]


def test_another_backend_and_a_different_key_file_are_refused(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports.submit_report(make_report(), "sx-intake")
    keys_in_home(monkeypatch)
    archive = Path(backup.backup(tmp_path / "shouhu.tar")["file"])
    other = "postgresql" if kind_of(db_url) == "sqlite" else "sqlite"
    with empty_database(other, tmp_path, "other") as target:
        use(monkeypatch, target, tmp_path / "other-home")
        with pytest.raises(InvalidInput) as refused:
            backup.restore(archive)
        assert refused.value.code == "backend_mismatch" and other in refused.value.message
        assert table_count(target) == 0
    with empty_database(kind_of(db_url), tmp_path, "same") as target:
        home = tmp_path / "same-home"
        use(monkeypatch, target, home)
        home.mkdir()
        (home / "secret_key").write_text("another installation's session key")
        with pytest.raises(InvalidInput) as refused:
            backup.restore(archive)
        assert refused.value.code == "key_file_differs" and "secret_key" in refused.value.message
        (home / "secret_key").unlink()
        monkeypatch.setenv("SHOUHU_TIMELINE_KEY", "a different key, also 32 characters or more")
        with pytest.raises(InvalidInput) as refused:
            backup.restore(archive)
        assert refused.value.code == "wrong_timeline_key"
        assert table_count(target) == 0 and not (home / "timeline_key").exists() and not (home / "anchors").exists()


def test_an_archive_with_a_path_outside_is_refused(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("anchors/../../escaped")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(InvalidInput) as refused:
        backup.restore(evil)
    assert refused.value.code == "archive_unsafe_member"
    assert not (tmp_path / "escaped").exists() and not (config.home().parent / "escaped").exists()


def test_a_backup_taken_while_the_app_writes_restores_consistent(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events appended during the backup are wholly in the copy or wholly not: the restored chains and
    heads agree (verify --all) and the manifest's counts are the copy's."""
    import threading

    opened = [reports.submit_report(make_report(), "sx-intake") for _ in range(2)]
    ids = [cases.show_case(c["case_no"], "sx-police", record_read=False)["case_id"] for c in opened]
    stop, written = threading.Event(), [0]

    def writer() -> None:
        import uuid

        while not stop.is_set():
            reading.record_reading(uuid.UUID(ids[written[0] % 2]), "sx-police", "case")  # one event each
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 3:
            time.sleep(0.01)
        made = backup.backup(tmp_path / "during.tar")
    finally:
        stop.set()
        thread.join()
    assert written[0] > 3
    with empty_database(kind_of(db_url), tmp_path, "restored") as target:
        use(monkeypatch, target, tmp_path / "restored-home")
        restored = backup.restore(Path(made["file"]))
        assert restored["events"] == made["events"]
        assert cases.verify_all()["ok"]


def test_the_cli_backs_up_and_restores_as_the_readme_says(db_url: str, tmp_path: Path) -> None:
    """`shouhu backup --out FILE`, then `shouhu restore FILE` into an empty database elsewhere, then
    `shouhu verify --all` there: the commands, their JSON and exit codes (SQLite and PostgreSQL)."""
    import json
    import subprocess
    import sys

    numbers = busy_database()

    def cli(*args: str, env: dict[str, str], code: int = 0) -> Any:
        proc = subprocess.run(
            [sys.executable, "-m", "cli", *args, "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert proc.returncode == code, (proc.stdout, proc.stderr[-1500:])
        return json.loads(proc.stdout)

    archive = tmp_path / "county.tar.gz"
    made = cli("backup", "--out", str(archive), env={})
    assert made["ok"] and made["cases"] == len(numbers) and stat.S_IMODE(archive.stat().st_mode) == 0o600
    with empty_database(kind_of(db_url), tmp_path, "elsewhere") as url:
        elsewhere = {"SHOUHU_DATABASE_URL": url, "SHOUHU_HOME": str(tmp_path / "elsewhere-home")}
        restored = cli("restore", str(archive), env=elsewhere)
        assert restored["cases"] == made["cases"] and restored["events"] == made["events"]
        assert cli("verify", "--all", env=elsewhere)["ok"] is True
        refused = cli("restore", str(archive), env=elsewhere, code=2)
        assert refused["error"]["code"] == "database_not_empty"
        db.dispose(url)
