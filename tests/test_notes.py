"""Case notes and attachments (issue 15 §6): append-only notes on the timeline with author and time;
photos, scans and PDFs kept under SHOUHU_HOME, typed by their bytes, their SHA-256 on the timeline,
served only under the case's access rule; every refusal clear, at its field, changing nothing — on the
service, the page, the API and the CLI."""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import csrf, make_report
from conftest import run_cli as cli
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models import Attachment, TimelineEvent
from services import accounts, cases, notes, reports
from shouhu import attachments, config, db, masking, policy
from shouhu.errors import ShouhuError

HOSTILE = '</textarea><script>alert("n")</script><img src=x onerror=alert(1)>'


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (grey pixels): browsers show it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def state(case_id: str) -> tuple[int, int, list[str]]:
    """What a refusal must not change: the timeline's length, the attachment rows, the files."""
    with Session(db.engine()) as s:
        events = s.exec(select(func.count()).where(TimelineEvent.case_id == uuid.UUID(case_id))).one()
        rows = s.exec(select(func.count()).where(Attachment.case_id == uuid.UUID(case_id))).one()
    folder = attachments.directory() / case_id
    return events, rows, sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_notes_are_appended_with_author_and_time_and_refusals_change_nothing(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case_id = opened["case_id"]
    done = notes.add_note(case_id, {"kind": "phone_call", "text": "与母亲通话：本周回家照料\n第二行"}, "sx-police")
    assert done["author"] == "sx-police" and done["case_no"] == opened["case_no"]
    notes.add_note(opened["case_no"], {"kind": "home_visit", "text": HOSTILE}, "sx-director-dg")
    listed = notes.list_notes(case_id, "sx-supervisor-sc")
    assert [(n["author"], n["kind"]) for n in listed] == [("sx-police", "phone_call"), ("sx-director-dg", "home_visit")]
    assert listed[1]["text"] == HOSTILE and listed[0]["at"].startswith("2026-")
    assert {n["text"] for n in notes.list_notes(case_id, "sx-manager")} == {masking.HIDDEN}
    timeline = cases.case_timeline(case_id, "sx-police", record_read=False)
    assert [e["summary"] for e in timeline if e["kind"] == "case_note"] == [
        "工作记录（电话联系）",
        "工作记录（入户走访）",
    ]
    assert cases.verify_case(case_id, "sx-police", record_read=False)["ok"]

    before = state(case_id)
    refusals = [
        (case_id, {"kind": "phone_call", "text": ""}, "sx-police", "text"),
        (case_id, {"kind": "phone_call"}, "sx-police", "text"),
        (case_id, {"kind": "gossip", "text": "x"}, "sx-police", "kind"),
        (case_id, {"kind": "other", "text": "x", "author": "someone"}, "sx-police", "author"),
        (case_id, {"kind": "other", "text": "x" * (policy.input_limits().long_text + 1)}, "sx-police", "text"),
        (case_id, {"kind": "other", "text": "x"}, "sx-manager", "as"),  # reads, does not write
        (case_id, {"kind": "other", "text": "x"}, "sx-director-xz", "case"),  # another village: unknown
        (str(uuid.uuid4()), {"kind": "other", "text": "x"}, "sx-police", "case"),
        ("'; drop table case; --", {"kind": "other", "text": "x"}, "sx-police", "case"),
        (case_id, {"kind": "other", "text": "x"}, None, "as"),
    ]
    for ref, body, who, field in refusals:
        with pytest.raises(ShouhuError) as refused:
            notes.add_note(ref, body, who)
        assert refused.value.field == field, (body, who, refused.value.code, refused.value.field)
    assert state(case_id) == before


def test_attachments_are_typed_by_their_bytes_kept_under_home_and_served_only_in_scope(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case_id = opened["case_id"]
    photo = png()
    kept = notes.add_attachment(opened["case_no"], "../../etc/孩子的照片.png", photo, "sx-police", "门口的伤痕")
    assert kept["content_type"] == "image/png" and kept["sha256"] == hashlib.sha256(photo).hexdigest()
    assert kept["name"] == "孩子的照片.png" and kept["size"] == len(photo)
    path = config.home() / "attachments" / case_id / kept["attachment_id"]
    assert path.read_bytes() == photo and (path.stat().st_mode & 0o777) == 0o600
    with Session(db.engine()) as s:
        event = s.exec(
            select(TimelineEvent).where(
                TimelineEvent.case_id == uuid.UUID(case_id), TimelineEvent.kind == "attachment_added"
            )
        ).one()
    assert event.payload["sha256"] == kept["sha256"] and event.summary == "添加附件（图片）"
    view, served = notes.open_attachment(kept["attachment_id"], "sx-supervisor-sc")
    assert served.read_bytes() == photo and view["name"] == "孩子的照片.png"
    assert cases.verify_case(case_id, "sx-police", record_read=False)["ok"]
    pdf = notes.add_attachment(case_id, "扫描件.pdf", b"%PDF-1.4\n%%EOF\n", "sx-director-dg")
    assert pdf["content_type"] == "application/pdf"
    listed = notes.list_attachments(case_id, "sx-manager")
    assert {a["name"] for a in listed} == {"附件"} and not any(a["may_open"] for a in listed)

    for ref, who, code in (
        (kept["attachment_id"], "sx-manager", "identity_masked"),  # a photo cannot be masked
        (kept["attachment_id"], "sx-director-xz", "unknown_attachment"),  # out of scope: as unknown
        (str(uuid.uuid4()), "sx-police", "unknown_attachment"),
        ("../../etc/passwd", "sx-police", "unknown_attachment"),
        (kept["attachment_id"], "yt-police", "unknown_attachment"),  # another county
    ):
        with pytest.raises(ShouhuError) as refused:
            notes.open_attachment(ref, who)
        assert refused.value.code == code, (ref, who)

    before = state(case_id)
    limit = policy.input_limits().attachment_bytes
    for name, data, who, field, code in (
        ("photo.jpg", b"MZ\x90\x00 this is a program", "sx-police", "file", "attachment_type"),
        ("photo.png", b"", "sx-police", "file", "missing_field"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * limit, "sx-police", "file", "too_large"),
        ("page.html", b"<html><script>alert(1)</script>", "sx-police", "file", "attachment_type"),
        ("photo.png", photo, "sx-manager", "as", "not_permitted"),
        ("photo.png", photo, "sx-director-xz", "case", "unknown_case"),
    ):
        with pytest.raises(ShouhuError) as refused:
            notes.add_attachment(case_id, name, data, who)
        assert (refused.value.field, refused.value.code) == (field, code), name
    with pytest.raises(ShouhuError) as long_note:
        notes.add_attachment(case_id, "p.png", photo, "sx-police", "x" * (policy.input_limits().long_text + 1))
    assert long_note.value.field == "note"
    assert state(case_id) == before


def test_the_case_page_writes_notes_and_keeps_files_with_errors_at_their_fields(browser_like: Any) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    police = browser_like("sx-police")
    page = police.get(f"/cases/{opened['case_no']}")
    assert 'id="notes"' in page.text and 'enctype="multipart/form-data"' in page.text
    token = csrf(page.text)
    empty = police.post(f"/cases/{opened['case_no']}/notes", data={"csrf": token, "kind": "phone_call", "text": ""})
    assert empty.status_code == 200 and "必填：请填写记录内容" in empty.text and 'aria-invalid="true"' in empty.text
    written = police.post(
        f"/cases/{opened['case_no']}/notes", data={"csrf": token, "kind": "home_visit", "text": HOSTILE}
    )
    assert "已添加工作记录" in written.text and HOSTILE not in written.text
    assert "&lt;/textarea&gt;&lt;script&gt;" in written.text and "入户走访" in written.text
    wrong = police.post(
        f"/cases/{opened['case_no']}/attachments",
        data={"csrf": token, "note": "说明"},
        files={"file": ("photo.jpg", b"MZ not a photo", "image/jpeg")},
    )
    assert "只能上传照片（JPG、PNG、WebP）或 PDF 文件" in wrong.text and 'value="说明"' in wrong.text
    kept = police.post(
        f"/cases/{opened['case_no']}/attachments",
        data={"csrf": token, "note": "门口"},
        files={"file": ("伤痕.png", png(), "image/png")},
    )
    assert "已添加附件（伤痕.png）" in kept.text
    [a] = notes.list_attachments(opened["case_id"], "sx-police")
    served = police.get(f"/attachments/{a['attachment_id']}")
    assert served.status_code == 200 and served.content == png() and served.headers["content-type"] == "image/png"
    assert "sandbox" in served.headers["content-security-policy"] and served.headers["cache-control"] == "no-store"
    assert f'<img src="/attachments/{a["attachment_id"]}"' in kept.text
    manager = browser_like("sx-manager")
    assert "已脱敏，不能打开" in manager.get(f"/cases/{opened['case_no']}").text
    assert manager.get(f"/attachments/{a['attachment_id']}").status_code == 403
    assert browser_like("sx-director-xz").get(f"/attachments/{a['attachment_id']}").status_code == 404
    assert TestClient(police.app).get(f"/attachments/{a['attachment_id']}", follow_redirects=False).status_code == 303
    no_csrf = police.post(f"/cases/{opened['case_no']}/notes", data={"kind": "other", "text": "x"})
    assert no_csrf.status_code == 403
    assert len(notes.list_notes(opened["case_id"], "sx-police")) == 1


def test_the_api_and_the_cli(db_url: str, tmp_path: Path) -> None:
    from web.app import create_app

    opened = reports.submit_report(make_report(), "sx-intake")
    api = TestClient(create_app(), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {accounts.create_token('sx-police', 'test')['token']}"}
    note = api.post(f"/api/v1/cases/{opened['case_no']}/notes", json={"kind": "meeting", "text": "会商"}, headers=auth)
    assert note.status_code == 200 and note.json()["kind"] == "meeting"
    bad = api.post(f"/api/v1/cases/{opened['case_no']}/notes", json={"kind": "meeting"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "text"
    up = api.post(
        f"/api/v1/cases/{opened['case_no']}/attachments",
        files={"file": ("scan.pdf", b"%PDF-1.7 scan", "application/pdf")},
        data={"note": "户口本"},
        headers=auth,
    )
    assert up.status_code == 200 and up.json()["content_type"] == "application/pdf"
    refused = api.post(
        f"/api/v1/cases/{opened['case_no']}/attachments",
        files={"file": ("x.pdf", b"nope", "application/pdf")},
        headers=auth,
    )
    assert refused.status_code == 400 and refused.json()["error"] == {
        "code": "attachment_type",
        "message": refused.json()["error"]["message"],
        "field": "file",
    }
    not_multipart = api.post(f"/api/v1/cases/{opened['case_no']}/attachments", content=b"raw", headers=auth)
    assert not_multipart.status_code == 400 and not_multipart.json()["error"]["field"] in ("body", "file")
    got = api.get(f"/api/v1/attachments/{up.json()['attachment_id']}", headers=auth)
    assert (
        got.status_code == 200
        and got.content == b"%PDF-1.7 scan"
        and "attachment" in got.headers["content-disposition"]
    )
    assert [n["text"] for n in api.get(f"/api/v1/cases/{opened['case_no']}/notes", headers=auth).json()] == ["会商"]

    assert cli("case", "note", opened["case_no"], "-", "--as", "sx-police", stdin='{"kind": "other", "text": "电话"}')[
        "seq"
    ]
    photo = tmp_path / "照片.png"
    photo.write_bytes(png())
    kept = cli("case", "attach", opened["case_no"], str(photo), "--note", "门口", "--as", "sx-police")
    assert kept["sha256"] == hashlib.sha256(png()).hexdigest()
    out = tmp_path / "out.png"
    got = cli("attachment", "get", kept["attachment_id"], "--out", str(out), "--as", "sx-supervisor-sc")
    assert out.read_bytes() == png() and got["file"] == str(out) and (out.stat().st_mode & 0o777) == 0o600
    assert (
        cli("attachment", "get", kept["attachment_id"], "--out", str(out), "--as", "sx-police", code=3)["error"]["code"]
        == "file_exists"
    )
    wrong = tmp_path / "a.png"
    wrong.write_bytes(b"GIF89a")
    assert cli("case", "attach", opened["case_no"], str(wrong), "--as", "sx-police", code=2)["error"]["field"] == "file"
    assert len(cli("case", "attachments", opened["case_no"], "--as", "sx-police")) == 2
