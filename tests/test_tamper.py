"""The timeline catches what it claims to, against someone who can write to the database but
does not hold SHOUHU_TIMELINE_KEY: (a) the newest event deleted and the head moved back,
(b) the case's stage changed, (c) an event edited and the chain recomputed, (d) a document and
its stored hash rewritten together, (e) a case removed whole or put back to an older copy
(the anchors), and a later write never launders what it found."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import make_report
from sqlalchemy import text
from sqlmodel import Session, col, select

from models import Case, Document, TimelineEvent
from services import cases, deadlines, documents, reports, setup
from shouhu import db, timeline
from shouhu.errors import InvalidInput


def opened_case() -> dict[str, Any]:
    opened = reports.submit_report(make_report(), "sx-intake")
    cases.show_case(opened["case_id"], "sx-police")  # one more event: a read
    assert cases.verify_case(opened["case_no"], "sx-police", record_read=False) == {
        "ok": True,
        "broken_at": None,
        "reason": None,
    }
    return opened


def sql(statement: str, **params: Any) -> None:
    with db.engine().begin() as conn:
        conn.execute(text(statement), params)


def verdict(case: dict[str, Any]) -> dict[str, Any]:
    return cases.verify_case(case["case_no"], "sx-police", record_read=False)


def test_a_deleting_the_newest_event_and_moving_the_head_back(db_url: str) -> None:
    case = opened_case()
    with Session(db.engine()) as s:
        last, before = s.exec(
            select(TimelineEvent)
            .where(TimelineEvent.case_id == uuid.UUID(case["case_id"]))
            .order_by(col(TimelineEvent.seq).desc())
            .limit(2)
        ).all()
    sql("DELETE FROM timelineevent WHERE id = :id", id=last.id.hex if db_url.startswith("sqlite") else last.id)
    sql(
        'UPDATE "case" SET timeline_seq = :seq, timeline_head = :head WHERE case_no = :no',
        seq=before.seq,
        head=before.hash,
        no=case["case_no"],
    )
    assert verdict(case) == {"ok": False, "broken_at": before.seq, "reason": "seal"}


@pytest.mark.parametrize(
    "column,value", [("stage", "closed"), ("status", "closed"), ("risk_level", "low"), ("township", "sx-t-cg")]
)
def test_b_changing_the_case_state_outside_the_chain(db_url: str, column: str, value: str) -> None:
    case = opened_case()
    sql(f'UPDATE "case" SET {column} = :v WHERE case_no = :no', v=value, no=case["case_no"])
    assert verdict(case)["reason"] == "seal"


def test_c_editing_an_event_and_recomputing_the_whole_chain(db_url: str) -> None:
    case = opened_case()
    case_id = uuid.UUID(case["case_id"])
    with Session(db.engine()) as s:
        events = timeline.events(s, case_id)
    prev = timeline.GENESIS
    for e in events:  # the attacker knows the algorithm: every hash recomputed, the head moved
        summary = "已核实（伪造）" if e.seq == 1 else e.summary
        digest = timeline._digest(e.case_id, e.seq, e.at, e.kind, e.stage, e.actor, summary, e.payload, prev)
        sql(
            "UPDATE timelineevent SET summary = :s, prev_hash = :p, hash = :h WHERE id = :id",
            s=summary,
            p=prev,
            h=digest,
            id=e.id.hex if db_url.startswith("sqlite") else e.id,
        )
        prev = digest
    sql('UPDATE "case" SET timeline_head = :h WHERE case_no = :no', h=prev, no=case["case_no"])
    assert verdict(case)["reason"] == "seal"


def test_d_rewriting_a_document_with_its_stored_hash(db_url: str) -> None:
    import hashlib

    case = opened_case()
    with Session(db.engine()) as s:
        doc = s.exec(select(Document).where(Document.case_id == uuid.UUID(case["case_id"]))).one()
    forged = doc.content.replace("接报时间", "接报时问")
    sql(
        "UPDATE document SET content = :c, sha256 = :h WHERE id = :id",
        c=forged,
        h=hashlib.sha256(forged.encode()).hexdigest(),
        id=doc.id.hex if db_url.startswith("sqlite") else doc.id,
    )
    shown = documents.show_document(str(doc.id), "sx-police")
    assert (
        shown["intact"] is True and shown["matches_timeline"] is False
    )  # consistent with itself, not with the timeline
    assert verdict(case)["reason"] == "document"


def test_a_later_write_records_the_tampering_instead_of_sealing_over_it(db_url: str) -> None:
    case = opened_case()
    sql("UPDATE \"case\" SET stage = 'closed' WHERE case_no = :no", no=case["case_no"])
    cases.show_case(case["case_no"], "sx-police")  # a read appends an event and re-seals the case
    found = verdict(case)
    assert found["ok"] is False and found["reason"] == "tampering_recorded"
    kinds = [e["kind"] for e in cases.case_timeline(case["case_no"], "sx-police", record_read=False)]
    assert "tamper_detected" in kinds


def test_e_anchors_catch_a_removed_case_and_a_case_put_back_to_an_older_copy(
    db_url: str, tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SHOUHU_ANCHOR_DIR", str(tmp_path / "anchors"))
    removed, rolled_back = opened_case(), opened_case()
    with Session(db.engine()) as s:
        old = s.exec(select(Case).where(Case.case_no == rolled_back["case_no"])).one()
        old_row = {k: getattr(old, k) for k in ("timeline_seq", "timeline_head", "version", "seal")}
    cases.show_case(rolled_back["case_no"], "sx-police")  # newer events after the copy was taken
    line = deadlines.anchor_now("sixian")
    assert line["cases"] >= 2 and len(line["root"]) == 64
    before = cases.verify_all()  # (other tests' tampered cases share this database: look at ours)
    assert before["anchors"]["ok"] is True and not {b["case_no"] for b in before["broken"]} & {
        removed["case_no"],
        rolled_back["case_no"],
    }
    with Session(db.engine()) as s:  # the anchor went out to the coordination office too
        from models import Notification

        sent = s.exec(select(Notification).where(Notification.event == "timeline_anchor")).all()
    assert any(line["root"] in n.body for n in sent)

    # someone removes one case whole, and puts the other back to the older (validly sealed) copy
    with Session(db.engine()) as s:
        rid = s.exec(select(Case.id).where(Case.case_no == removed["case_no"])).one()
        back = s.exec(select(Case.id).where(Case.case_no == rolled_back["case_no"])).one()
    key = (lambda u: u.hex) if db_url.startswith("sqlite") else (lambda u: u)
    for table in ("timelineevent", "document", "notification", "deadline", "task", "report"):
        if table == "deadline":
            sql("DELETE FROM clockfire WHERE deadline_id IN (SELECT id FROM deadline WHERE case_id = :c)", c=key(rid))
        if table == "notification":
            sql(
                "DELETE FROM delivery WHERE notification_id IN (SELECT id FROM notification WHERE case_id = :c)",
                c=key(rid),
            )
        if table == "report":
            sql("DELETE FROM reporter WHERE report_id IN (SELECT id FROM report WHERE case_id = :c)", c=key(rid))
        sql(f"DELETE FROM {table} WHERE case_id = :c", c=key(rid))
    sql("UPDATE command SET case_id = NULL WHERE case_id = :c", c=key(rid))
    sql('DELETE FROM "case" WHERE id = :c', c=key(rid))
    sql("DELETE FROM timelineevent WHERE case_id = :c AND seq > :s", c=key(back), s=old_row["timeline_seq"])
    sql(
        'UPDATE "case" SET timeline_seq = :timeline_seq, timeline_head = :timeline_head, version = :version, seal = :seal WHERE id = :c',
        c=key(back),
        **old_row,
    )
    assert verdict(rolled_back)["ok"] is True  # the older copy is consistent and validly sealed: only the anchor knows
    result = cases.verify_all()
    problems = {(p["problem"], p.get("case_no")) for p in result["anchors"]["problems"]}
    assert result["ok"] is False and rolled_back["case_no"] not in {b["case_no"] for b in result["broken"]}
    assert ("anchored_case_missing", removed["case_no"]) in problems
    assert ("anchored_head_not_in_chain", rolled_back["case_no"]) in problems


def test_the_anchor_log_itself_is_chained(db_url: str, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SHOUHU_ANCHOR_DIR", str(tmp_path / "anchors"))
    opened_case()
    deadlines.anchor_now("sixian")
    deadlines.anchor_now("yantai")
    assert cases.verify_all()["anchors"]["ok"] is True
    log = tmp_path / "anchors" / "anchors.log"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[1:]) + "\n")  # the first anchor removed from the log
    problems = {p["problem"] for p in cases.verify_all()["anchors"]["problems"]}
    assert "log_chain_broken" in problems


def test_a_database_sealed_with_another_key_is_refused_plainly(db_url: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("SHOUHU_TIMELINE_KEY", "a different key, also 32 characters or more")
    with pytest.raises(InvalidInput) as refused:
        setup.init()
    assert refused.value.code == "wrong_timeline_key"
    with pytest.raises(InvalidInput):
        cases.verify_all()


def test_a_process_with_another_key_writes_nothing(db_url: str, monkeypatch: Any) -> None:
    """A worker or CLI started without the right SHOUHU_TIMELINE_KEY is refused before it writes:
    it must not seal with a foreign key, nor record a false finding of tampering."""
    case = opened_case()
    with Session(db.engine()) as s:
        before = s.exec(select(Case.timeline_seq).where(Case.case_no == case["case_no"])).one()
    monkeypatch.setenv("SHOUHU_TIMELINE_KEY", "a different key, also 32 characters or more")
    for attempt in (
        lambda: cases.show_case(case["case_no"], "sx-police"),
        lambda: reports.submit_report(make_report(), "sx-intake"),
    ):
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.code == "wrong_timeline_key"
    monkeypatch.undo()
    monkeypatch.setenv("SHOUHU_DATABASE_URL", db_url)
    with Session(db.engine()) as s:
        assert s.exec(select(Case.timeline_seq).where(Case.case_no == case["case_no"])).one() == before
    assert verdict(case)["ok"] is True


@pytest.mark.parametrize(
    "statement,reason",
    [
        ("DELETE FROM document WHERE case_id = :c", "document"),
        ("UPDATE task SET status = 'done', completed_by = 'someone' WHERE case_id = :c", "record"),
        ("UPDATE deadline SET due_at = due_at + INTERVAL '1 day' WHERE case_id = :c", "record"),
        ("UPDATE report SET late = NOT late WHERE case_id = :c", "record"),
        (
            "UPDATE reporter SET phone = '13900000000' WHERE report_id IN (SELECT id FROM report WHERE case_id = :c)",
            "record",
        ),
        ("UPDATE child SET name = '改过的名字' WHERE id IN (SELECT child_id FROM \"case\" WHERE id = :c)", "record"),
        ("DELETE FROM deadline WHERE case_id = :c", "record"),
    ],
    ids=["document removed", "task", "deadline", "report", "reporter", "child", "deadlines removed"],
)
def test_every_row_of_the_file_is_sealed(db_url: str, statement: str, reason: str) -> None:
    """Not only the case row: a task, a deadline, a report, the reporter, the child, a document —
    changed or removed behind the application's back — fails verification."""
    case = opened_case()
    key = uuid.UUID(case["case_id"]).hex if db_url.startswith("sqlite") else uuid.UUID(case["case_id"])
    if db_url.startswith("sqlite"):
        statement = statement.replace("due_at + INTERVAL '1 day'", "datetime(due_at, '+1 day')")
    if "DELETE FROM deadline" in statement:
        sql("DELETE FROM clockfire WHERE deadline_id IN (SELECT id FROM deadline WHERE case_id = :c)", c=key)
    sql(statement, c=key)
    assert verdict(case)["reason"] == reason


def test_a_changed_deadline_is_recorded_before_the_sweeper_seals_it_again(db_url: str) -> None:
    from shouhu import clock

    case = opened_case()
    key = uuid.UUID(case["case_id"]).hex if db_url.startswith("sqlite") else uuid.UUID(case["case_id"])
    sql("UPDATE deadline SET rule = '{}' WHERE case_id = :c", c=key)  # someone edits the clock
    clock.advance(days=2)
    deadlines.sweep()  # fires it (and seals the row again)
    found = verdict(case)
    assert found["ok"] is False and found["reason"] == "tampering_recorded"
