"""Daily anchors: the head of every case's timeline, written outside the database and sent out.

The seal (shouhu.timeline) stops anyone without the key from changing a case. It cannot see a
case removed whole, or the database put back to an older copy. So once a day (the pack's
`delivery.anchor_hour`) the sweeper writes every case's (number, last seq, head hash) to a file
outside the database, appends a line naming that file and its root hash to an append-only log
(each line hashing the line before it), and sends the root to the coordination office.
`shouhu verify --all` then checks that every anchored head is still in its case's chain.

Files: `$SHOUHU_ANCHOR_DIR` (default `$SHOUHU_HOME/anchors`): `anchors.log` and
`<jurisdiction>/<day>-<root>.json`. Keep them on storage the database's administrators cannot
rewrite (another machine, WORM storage, `chattr +a` on the log).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from models import Case, Notification, TimelineEvent
from notifications.render import board_link, render
from shouhu import config, policy, units
from shouhu.clock import now
from shouhu.daily import daily_due

LOG = "anchors.log"


def directory() -> Path:
    return Path(config.settings().anchor_dir or config.home() / "anchors")


def take_due(session: Session, as_of: datetime) -> int:
    """Each jurisdiction's anchor for today, once, at or after its anchor hour."""
    taken = 0
    for jurisdiction, day in daily_due(session, as_of, lambda p: p.delivery.value.anchor_hour, "anchor"):
        take(session, jurisdiction, day.isoformat())
        taken += 1
    return taken


def heads(session: Session, jurisdiction: str) -> list[list[Any]]:
    rows = session.exec(
        select(Case.case_no, Case.timeline_seq, Case.timeline_head)
        .where(Case.jurisdiction == jurisdiction)
        .order_by(col(Case.case_no))
    ).all()
    return [[no, seq, head] for no, seq, head in rows]


def root_of(entries: list[list[Any]]) -> str:
    return hashlib.sha256(json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


def take(session: Session, jurisdiction: str, day: str) -> dict[str, Any]:
    """Write the anchor file, append its log line, queue the message to the coordination office."""
    entries = heads(session, jurisdiction)
    root = root_of(entries)
    folder = directory() / jurisdiction
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{jurisdiction}/{day}-{root[:16]}.json"
    body = json.dumps(
        {
            "jurisdiction": jurisdiction,
            "day": day,
            "at": now().isoformat(),
            "cases": len(entries),
            "root": root,
            "heads": entries,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    path = directory() / name
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, path)
    line = {
        "jurisdiction": jurisdiction,
        "day": day,
        "cases": len(entries),
        "root": root,
        "file": name,
        "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "prev": _last_line_hash(),
    }
    _append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    p = policy.pack(jurisdiction)
    office = units.resolve(p, "coordination_office", "", None)
    subject, text = render(
        "timeline_anchor",
        case_no="—",
        stage="—",
        ask="时间线锚点",
        due=day,
        link=board_link(session),
        unit_name=p.unit(office).name,
        jurisdiction=p.name,
        detail=f"截至 {day} 共 {len(entries)} 件案卷，锚点摘要 {root}",
    )
    key = f"anchor:{jurisdiction}:{day}:{root[:16]}"  # the same anchor taken twice is sent once
    if (
        session.exec(select(Notification.id).where(Notification.dedupe_key == key, Notification.unit == office)).first()
        is None
    ):
        session.add(
            Notification(
                jurisdiction=jurisdiction,
                unit=office,
                event="timeline_anchor",
                template="timeline_anchor",
                dedupe_key=key,
                subject=subject,
                body=text,
                created_at=now(),
            )
        )
    return line


def _append(line: str) -> None:
    """One line, appended (O_APPEND: never rewriting what is there)."""
    directory().mkdir(parents=True, exist_ok=True)
    fd = os.open(directory() / LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _lines() -> list[str]:
    path = directory() / LOG
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _last_line_hash() -> str:
    lines = _lines()
    return hashlib.sha256(lines[-1].encode("utf-8")).hexdigest() if lines else "0" * 64


def verify(session: Session) -> dict[str, Any]:
    """Every anchor against the database: the log's own chain, each file against its line, and
    every anchored head still in its case's chain (a case removed, or put back to an older copy,
    is found here). `{"ok", "anchors", "heads_checked", "problems": [...]}`."""
    problems: list[dict[str, Any]] = []
    prev, checked, count = "0" * 64, 0, 0
    for number, text in enumerate(_lines(), start=1):
        count += 1
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            problems.append({"line": number, "problem": "log_line_unreadable"})
            prev = hashlib.sha256(text.encode("utf-8")).hexdigest()
            continue
        if line.get("prev") != prev:
            problems.append({"line": number, "problem": "log_chain_broken"})
        prev = hashlib.sha256(text.encode("utf-8")).hexdigest()
        path = directory() / str(line.get("file", ""))
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != line.get("file_sha256"):
            problems.append({"line": number, "problem": "anchor_file_missing_or_changed", "file": line.get("file")})
            continue
        anchor = json.loads(path.read_text(encoding="utf-8"))
        if root_of(anchor["heads"]) != line.get("root"):
            problems.append({"line": number, "problem": "anchor_root_mismatch", "file": line.get("file")})
            continue
        checked += len(anchor["heads"])
        problems.extend(_check_heads(session, anchor, number))
    return {
        "ok": not problems,
        "anchors": count,
        "heads_checked": checked,
        "problems": problems[:200],
        "problem_count": len(problems),
    }


def _check_heads(session: Session, anchor: dict[str, Any], number: int) -> list[dict[str, Any]]:
    out = []
    for start in range(0, len(anchor["heads"]), 500):
        chunk = anchor["heads"][start : start + 500]
        ids = dict(
            session.exec(select(Case.case_no, Case.id).where(col(Case.case_no).in_([no for no, _, _ in chunk]))).all()
        )
        pairs = [(ids[no], seq) for no, seq, _ in chunk if no in ids]
        hashes = (
            {
                (case_id, seq): h
                for case_id, seq, h in session.exec(
                    select(TimelineEvent.case_id, TimelineEvent.seq, TimelineEvent.hash).where(
                        tuple_(col(TimelineEvent.case_id), col(TimelineEvent.seq)).in_(pairs)
                    )
                ).all()
            }
            if pairs
            else {}
        )
        for no, seq, head in chunk:
            if no not in ids:
                out.append({"line": number, "problem": "anchored_case_missing", "case_no": no, "day": anchor["day"]})
            elif hashes.get((ids[no], seq)) != head:
                out.append(
                    {
                        "line": number,
                        "problem": "anchored_head_not_in_chain",
                        "case_no": no,
                        "seq": seq,
                        "day": anchor["day"],
                    }
                )
    return out
