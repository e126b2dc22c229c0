"""The case's official documents: produced at their step, hashed on the timeline, read by rule."""

from __future__ import annotations

import contextlib
import io
import uuid
from typing import Any

import pytest
from conftest import CHROMIUM, make_report
from sqlalchemy import false
from sqlmodel import Session, select

from cli.demo import run_demo
from models import AccessRecord, Document, TimelineEvent
from services import cases, documents, reports, tasks
from shouhu import db
from shouhu.errors import InvalidInput, ShouhuError

ALL_KINDS = {
    "intake_form",
    "warning_letter",
    "handover",
    "assessment_report",
    "assistance_plan",
    "temporary_guardianship_decision",
    "guardianship_petition",
    "closing_report",
}


def test_each_step_issues_its_document_with_its_hash_on_the_timeline(db_url: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        demo = run_demo("sixian")
    report = make_report(description="孩子说<script>alert(1)</script>")
    opened = reports.submit_report(report, "sx-intake")
    case = cases.show_case(opened["case_id"], "sx-police", record_read=False)
    emergency = next(t for t in case["tasks"] if t["kind"] == "emergency_response")
    tasks.complete_task(emergency["task_id"], {"unfounded": False, "measures": ["warning_letter"]}, "sx-police")

    demo_docs = documents.case_documents(demo["case_id"], "sx-police")
    second = documents.case_documents(opened["case_id"], "sx-police")
    assert {d["kind"] for d in demo_docs} | {d["kind"] for d in second} == ALL_KINDS
    with Session(db.engine()) as s:
        for case_id, docs in ((demo["case_id"], demo_docs), (opened["case_id"], second)):
            issued = {
                e.payload["document_id"]: e.payload["sha256"]
                for e in s.exec(
                    select(TimelineEvent).where(
                        TimelineEvent.case_id == uuid.UUID(case_id), TimelineEvent.kind == "document_issued"
                    )
                ).all()
            }
            assert issued == {d["document_id"]: d["sha256"] for d in docs}
    intake_form = next(d for d in second if d["kind"] == "intake_form")
    shown = documents.show_document(intake_form["document_id"], "sx-police")
    html = shown["content"]
    assert (
        shown["intact"] and "@page { size: A4" in html and "<link" not in html and "http" not in html
    )  # printable, no external assets
    assert report["child"]["name"] in html and report["reporter"]["name"] in html  # the official file carries identity
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # autoescaped
    letter = documents.show_document(
        next(d for d in second if d["kind"] == "warning_letter")["document_id"], "sx-police"
    )["content"]
    assert "反家庭暴力法》第十六条" in letter and report["guardians"][0]["name"] in letter


def test_documents_follow_the_case_access_rules_and_reads_are_recorded(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")  # a child of 泗城镇 东关村
    as_caseworker = documents.case_documents(opened["case_id"], "sx-supervisor-sc")
    assert "intake_form" not in {d["kind"] for d in as_caseworker}  # it names the reporter
    form = next(d for d in documents.case_documents(opened["case_id"], "sx-manager") if d["kind"] == "intake_form")
    with pytest.raises(InvalidInput) as hidden:
        documents.show_document(form["document_id"], "sx-supervisor-sc")
    assert hidden.value.code == "unknown_document"  # answered as a document that does not exist
    for outsider in ("sx-supervisor-cg", "sx-director-xz"):
        with pytest.raises(InvalidInput) as refused:
            documents.case_documents(opened["case_id"], outsider)
        assert refused.value.code == "unknown_case" and opened["case_no"] not in refused.value.message
    with Session(db.engine()) as s:
        refusals = s.exec(
            select(AccessRecord).where(AccessRecord.target == opened["case_id"], AccessRecord.allowed == false())
        ).all()
    assert {r.actor for r in refusals} >= {"sx-supervisor-cg", "sx-director-xz"}
    documents.show_document(form["document_id"], "sx-police")
    with Session(db.engine()) as s:
        reads = [
            (e.actor, e.payload.get("view"))
            for e in s.exec(
                select(TimelineEvent).where(
                    TimelineEvent.case_id == uuid.UUID(opened["case_id"]), TimelineEvent.kind == "case_read"
                )
            ).all()
        ]
    assert ("sx-police", "document:intake_form") in reads and ("sx-supervisor-sc", "documents") in reads


def test_an_edited_document_is_reported_as_not_intact(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    form = documents.case_documents(opened["case_id"], "sx-police")[0]
    with db.transaction() as s:
        doc = s.get(Document, uuid.UUID(form["document_id"]))
        doc.content = doc.content.replace("接报时间", "接报时问")
    assert documents.show_document(form["document_id"], "sx-police")["intact"] is False


def test_every_document_prints_to_pdf_with_its_chinese_and_its_masking(
    db_url: str, browser_like: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Official documents as PDF (issue 15 §7): Chinese text embedded and extractable, the same masking
    as the page (managers: no name, no ID number), the read recorded; the page leads back to the case."""
    import os

    from pypdf import PdfReader

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    report = make_report()
    opened = reports.submit_report(report, "sx-intake")
    form = next(d for d in documents.case_documents(opened["case_id"], "sx-police") if d["kind"] == "intake_form")
    shown, data = documents.document_pdf(form["document_id"], "sx-police")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace(" ", "")
    assert data.startswith(b"%PDF") and b"/FontFile" in data and "content" not in shown
    assert report["child"]["name"] in text and report["child"]["id_number"] in text and "强制报告" in text
    _, masked = documents.document_pdf(form["document_id"], "sx-manager")
    masked_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(masked)).pages).replace(" ", "")
    assert report["child"]["name"] not in masked_text and report["child"]["id_number"] not in masked_text
    assert opened["case_no"] in masked_text
    with pytest.raises(InvalidInput) as refused:
        documents.document_pdf(form["document_id"], "sx-supervisor-cg")  # another township: as unknown
    assert refused.value.code == "unknown_document"

    police = browser_like("sx-police")
    page = police.get(f"/documents/{form['document_id']}")
    assert f'href="/cases/{opened["case_no"]}"' in page.text and f"/documents/{form['document_id']}/pdf" in page.text
    pdf = police.get(f"/documents/{form['document_id']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    assert "inline" in pdf.headers["content-disposition"] and "sandbox" not in pdf.headers["content-security-policy"]
    assert police.get(f"/documents/{uuid.uuid4()}/pdf").status_code == 404
    monkeypatch.setenv("SHOUHU_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(ShouhuError) as unavailable:
        documents.document_pdf(form["document_id"], "sx-police")
    assert unavailable.value.code == "pdf_unavailable"
