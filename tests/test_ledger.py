"""The county's ledger (issue 14 §1–2): the spreadsheet the county keeps comes in (XLSX or CSV, Chinese
headers), every bad row is named with its row, column and reason, the same file twice changes
nothing, a changed row updates the child's file and says so on the child's timeline, and the ledger
goes back out as XLSX under the one masking rule."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col, select

from models import AccessRecord, Child, ChildCategory, ChildEvent, EntrustedCare, Guardian
from services import ledger
from shouhu import db, idnumber
from shouhu.errors import Forbidden, InvalidInput

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
HEADERS = list(ledger.HEADERS)


def ident(born: date, seq: int, region: str = "341324") -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + idnumber.check_character(body)


def row(**given: str) -> list[str]:
    base = {
        "姓名": "陈晓",
        "身份证号": ident(date(2016, 5, 1), 101),
        "性别": "女",
        "出生日期": "2016-05-01",
        "乡镇": "泗城镇",
        "村": "东关村",
        "类别": "留守儿童",
        "监护人姓名": "陈大爷",
        "监护人关系": "祖父",
        "监护人电话": "13800000011",
        "住址": "东关村2组",
        "就读学校": "东关小学",
    }
    base.update(given)
    return [base.get(h, "") for h in HEADERS]


def xlsx(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def state() -> tuple[Any, ...]:
    """Every row an import may write: a refused import leaves all of it as it was."""
    with Session(db.engine()) as s:
        return tuple(
            sorted((str(x.id), *(str(getattr(x, f)) for f in fields)) for x in s.exec(select(model)))
            for model, fields in (
                (Child, ("name", "address", "school", "township", "village")),
                (ChildCategory, ("category", "ended_on")),
                (Guardian, ("name", "phone")),
                (EntrustedCare, ("name", "ended_on")),
                (ChildEvent, ("seq", "summary")),
            )
        )


def test_the_shipped_sample_imports_cleanly_and_twice_changes_nothing(db_url: str) -> None:
    for sample in ("ledger-sample.xlsx", "ledger-sample.csv"):
        first = ledger.import_ledger(SAMPLES / sample, "sixian", "sx-civil")
        assert first["errors"] == [] and first["rows"] == 4 and first["written"] is True
        if sample.endswith(".xlsx"):
            assert (first["created"], first["updated"], first["unchanged"]) == (4, 0, 0)
        else:  # the same children in CSV: found again by ID number, or name + birth date + village
            assert (first["created"], first["updated"], first["unchanged"]) == (0, 0, 4)
        before = state()
        again = ledger.import_ledger(SAMPLES / sample, "sixian", "sx-civil")
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)
        assert state() == before
    with Session(db.engine()) as s:
        children = {c.name: c for c in s.exec(select(Child).where(Child.enrolled_from == "import"))}
        assert set(children) == {"张小雨", "李明", "王芳芳", "赵一"}
        li = children["李明"]
        assert (li.township, li.village, li.gender) == ("sx-t-sc", "sx-v-sc-dg", "male")
        held = sorted(c.category for c in s.exec(select(ChildCategory).where(ChildCategory.child_id == li.id)))
        assert held == ["disabled", "orphan"]
        assert children["张小雨"].left_behind is True and children["张小雨"].school == "泗城镇中心小学"
        carer = s.exec(select(EntrustedCare).where(EntrustedCare.child_id == children["张小雨"].id)).one()
        assert (carer.name, carer.relation, carer.since) == ("张建国", "祖父", date(2024, 2, 1))
        events = s.exec(select(ChildEvent).where(ChildEvent.child_id == li.id)).all()
        assert [(e.kind, e.actor) for e in events] == [("enrolled", "sx-civil")] and "孤儿" in events[0].summary


def test_the_template_has_the_importers_headers() -> None:
    sheet = load_workbook(SAMPLES / "ledger-template.xlsx").worksheets[0]
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == HEADERS
    with open(SAMPLES / "ledger-sample.csv", encoding="utf-8-sig") as f:
        assert next(csv.reader(f)) == HEADERS


def test_a_changed_row_updates_the_file_and_its_timeline(db_url: str, tmp_path: Path) -> None:
    ledger.import_ledger(xlsx(tmp_path / "a.xlsx", [row()]), "sixian", "sx-civil")
    changed = ledger.import_ledger(
        xlsx(tmp_path / "b.xlsx", [row(住址="东关村9组", 类别="孤儿", 监护人电话="13900000099")]),
        "sixian",
        "sx-manager",
    )
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 0)
    with Session(db.engine()) as s:
        child = s.exec(select(Child).where(Child.name == "陈晓")).one()
        assert child.address == "东关村9组" and child.left_behind is False
        held = {c.category: c.ended_on for c in s.exec(select(ChildCategory).where(ChildCategory.child_id == child.id))}
        assert held["orphan"] is None and held["left_behind"] is not None  # ended, not deleted
        assert s.exec(select(Guardian.phone).where(Guardian.child_id == child.id)).one() == "13900000099"
        events = s.exec(select(ChildEvent).where(ChildEvent.child_id == child.id).order_by(col(ChildEvent.seq))).all()
    assert [(e.seq, e.kind, e.actor) for e in events] == [(1, "enrolled", "sx-civil"), (2, "updated", "sx-manager")]
    assert "住址" in events[1].summary and "类别" in events[1].summary and "b.xlsx" in events[1].payload["source"]


BAD_ROWS = [
    ({"姓名": ""}, "姓名", "missing_field"),
    ({"性别": "M"}, "性别", "invalid_value"),
    ({"出生日期": "2016/13/40"}, "出生日期", "bad_date"),
    ({"出生日期": "2030-01-01", "身份证号": ""}, "出生日期", "born_in_future"),
    ({"出生日期": "2000-01-01", "身份证号": ""}, "出生日期", "not_a_minor"),
    ({"身份证号": "34132420160501101X"}, "身份证号", "bad_id_checksum"),
    ({"身份证号": ident(date(2016, 5, 2), 101)}, "身份证号", "id_birth_mismatch"),
    ({"乡镇": "火星镇"}, "乡镇", "unknown_township"),
    ({"村": "新庄村"}, "村", "unknown_village"),  # a village of another township
    ({"类别": "外星儿童"}, "类别", "unknown_category"),
    ({"类别": ""}, "类别", "missing_field"),
    ({"监护人电话": "call me"}, "监护人电话", "invalid_value"),
    ({"监护人姓名": "", "监护人电话": "13800000000"}, "监护人姓名", "missing_field"),
    ({"住址": "东关\u202e村"}, "住址", "control_character"),
    ({"住址": "东" * 300}, "住址", "too_long"),
]


@pytest.mark.parametrize(("change", "column", "code"), BAD_ROWS, ids=[f"{b[1]}-{b[2]}" for b in BAD_ROWS])
def test_a_bad_row_is_named_and_nothing_is_written(
    db_url: str, tmp_path: Path, change: dict[str, str], column: str, code: str
) -> None:
    good = row(姓名="好孩子", 身份证号=ident(date(2015, 1, 1), 7), 出生日期="2015-01-01")
    before = state()
    result = ledger.import_ledger(xlsx(tmp_path / "bad.xlsx", [good, row(**change)]), "sixian", "sx-civil")
    assert [(e["row"], e["field"], e["code"]) for e in result["errors"]] == [(3, column, code)], result["errors"]
    message = result["errors"][0]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), "the reason is in Chinese"
    assert result["written"] is False and state() == before
    skipped = ledger.import_ledger(tmp_path / "bad.xlsx", "sixian", "sx-civil", skip_bad_rows=True)
    assert skipped["written"] is True and skipped["created"] == 1 and len(skipped["errors"]) == 1


def test_a_file_and_its_headers_are_checked_first(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as missing:
        ledger.import_ledger(xlsx(tmp_path / "h.xlsx", [["x"]], headers=["姓名", "性别"]), "sixian", "sx-civil")
    assert missing.value.code == "missing_header" and "乡镇" in missing.value.message
    (tmp_path / "ledger.txt").write_text("姓名\n")
    with pytest.raises(InvalidInput) as kind:
        ledger.import_ledger(tmp_path / "ledger.txt", "sixian", "sx-civil")
    assert kind.value.code == "unsupported_file"
    (tmp_path / "gbk.csv").write_bytes(",".join(HEADERS).encode("gbk"))
    with pytest.raises(InvalidInput) as encoding:
        ledger.import_ledger(tmp_path / "gbk.csv", "sixian", "sx-civil")
    assert encoding.value.code == "bad_encoding"
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(InvalidInput):
        ledger.import_ledger(tmp_path / "fake.xlsx", "sixian", "sx-civil")
    dup = ledger.import_ledger(xlsx(tmp_path / "dup.xlsx", [row(), row()]), "sixian", "sx-civil")
    assert [(e["row"], e["code"]) for e in dup["errors"]] == [(3, "duplicate_row")] and dup["written"] is False
    dry = ledger.import_ledger(xlsx(tmp_path / "dry.xlsx", [row()]), "sixian", "sx-civil", dry_run=True)
    assert dry["created"] == 1 and dry["written"] is False
    with Session(db.engine()) as s:
        assert s.exec(select(Child).where(Child.name == "陈晓")).first() is None


@pytest.mark.parametrize("who", ["sx-police", "sx-director-dg", "sx-supervisor-sc", "yt-manager"])
def test_only_the_countys_civil_affairs_and_managers_keep_the_ledger(db_url: str, tmp_path: Path, who: str) -> None:
    before = state()
    with pytest.raises(Forbidden):
        ledger.import_ledger(SAMPLES / "ledger-sample.xlsx", "sixian", who)
    with pytest.raises(Forbidden):
        ledger.export_ledger("sixian", tmp_path / "out.xlsx", who)
    assert state() == before and not (tmp_path / "out.xlsx").exists()
    with Session(db.engine()) as s:
        refused = s.exec(
            select(AccessRecord).where(AccessRecord.actor == who, col(AccessRecord.action).startswith("ledger_"))
        ).all()
    assert len(refused) == 2 and not any(r.allowed for r in refused)


def test_the_export_goes_back_in_unchanged_and_managers_get_it_masked(db_url: str, tmp_path: Path) -> None:
    ledger.import_ledger(SAMPLES / "ledger-sample.xlsx", "sixian", "sx-civil")
    full = ledger.export_ledger("sixian", tmp_path / "full.xlsx", "sx-civil")
    assert full["rows"] == 4 and full["masked"] is False
    again = ledger.import_ledger(tmp_path / "full.xlsx", "sixian", "sx-civil")
    assert again["errors"] == [] and (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)
    masked = ledger.export_ledger("sixian", tmp_path / "masked.xlsx", "sx-manager")
    assert masked["masked"] is True
    sheet = load_workbook(tmp_path / "masked.xlsx").worksheets[0]
    cells = [[c for c in r] for r in sheet.iter_rows(min_row=2, values_only=True)]
    names = {r[HEADERS.index("姓名")] for r in cells}
    assert "张小雨" not in names and "张**" in names
    assert all(not r[HEADERS.index("住址")] and not r[HEADERS.index("监护人电话")] for r in cells)
    assert all(
        str(r[HEADERS.index("身份证号")] or "").endswith("*" * 12) or not r[HEADERS.index("身份证号")] for r in cells
    )


def test_a_child_of_another_county_is_not_moved_by_an_import(db_url: str, tmp_path: Path) -> None:
    other = ident(date(2016, 5, 1), 101, region="370611")
    moved = ledger.import_ledger(
        xlsx(tmp_path / "yt.xlsx", [row(身份证号=other, 乡镇="清洋街道", 村="西陈家村")]), "yantai", _civil("yantai")
    )
    assert moved["created"] == 1, moved["errors"]
    result = ledger.import_ledger(xlsx(tmp_path / "sx.xlsx", [row(身份证号=other)]), "sixian", "sx-civil")
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(2, "other_jurisdiction")] and result[
        "written"
    ] is False


def _civil(jurisdiction: str) -> str:
    from conftest import user_of

    return user_of(jurisdiction, "civil_affairs")


def test_the_cli_imports_with_exit_codes_and_exports(db_url: str, tmp_path: Path) -> None:
    def cli(*args: str, code: int = 0) -> Any:
        env = {**os.environ}
        proc = subprocess.run(
            [sys.executable, "-m", "cli", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
        )
        assert proc.returncode == code, (proc.stdout, proc.stderr[-1500:])
        return json.loads(proc.stdout)

    bad = xlsx(tmp_path / "bad.xlsx", [row(), row(姓名="", 身份证号=ident(date(2015, 2, 2), 9), 出生日期="2015-02-02")])
    refused = cli("ledger", "import", str(bad), "--jurisdiction", "sixian", "--as", "sx-civil", code=2)
    assert set(refused) >= {"rows", "created", "updated", "unchanged", "errors"}
    assert refused["errors"] == [{"row": 3, "field": "姓名", "code": "missing_field", "message": "“姓名”必填"}]
    done = cli("ledger", "import", str(SAMPLES / "ledger-sample.xlsx"), "--jurisdiction", "sixian", "--as", "sx-civil")
    assert done["created"] == 4
    out = cli(
        "ledger", "export", "--jurisdiction", "sixian", "--out", str(tmp_path / "ledger.xlsx"), "--as", "sx-civil"
    )
    assert out["rows"] == 4 and (tmp_path / "ledger.xlsx").exists()
    assert cli("ledger", "template", "--out", str(tmp_path / "t.xlsx"))["columns"] == HEADERS


def test_the_ledger_page_imports_lists_bad_rows_and_downloads(browser_like: Any, tmp_path: Path) -> None:
    civil = browser_like("sx-civil")
    page = civil.get("/ledger")
    assert page.status_code == 200 and "上传台账" in page.text
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    bad = xlsx(
        tmp_path / "bad.xlsx", [row(), row(乡镇="火星镇", 身份证号=ident(date(2015, 2, 2), 9), 出生日期="2015-02-02")]
    )
    refused = civil.post(
        "/ledger/import",
        data={"csrf": token},
        files={"file": ("县台账.xlsx", bad.read_bytes(), "application/octet-stream")},
    )
    assert refused.status_code == 400 and "第 3 行" in refused.text and "“火星镇”不是泗县的乡镇（街道）" in refused.text
    assert "本次没有写入任何内容" in refused.text
    done = civil.post(
        "/ledger/import",
        data={"csrf": token},
        files={
            "file": ("ledger-sample.xlsx", (SAMPLES / "ledger-sample.xlsx").read_bytes(), "application/octet-stream")
        },
    )
    assert done.status_code == 200 and "新建 4" in done.text and "已写入" in done.text
    big = civil.post("/ledger/import", data={"csrf": token}, files={"file": ("big.csv", b"\xff" * 400_000, "text/csv")})
    assert big.status_code == 400 and "UTF-8" in big.text, (
        "an upload may be larger than an ordinary form (upload_bytes)"
    )
    template = civil.get("/ledger/template.xlsx")
    assert template.status_code == 200 and template.headers["content-type"].startswith("application/vnd.openxmlformats")
    manager = browser_like("sx-manager")
    masked = manager.get("/ledger/export.xlsx")
    (tmp_path / "m.xlsx").write_bytes(masked.content)
    names = [r[0] for r in load_workbook(tmp_path / "m.xlsx").worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert len(names) == 4 and all("*" in n for n in names)
    assert browser_like("sx-police").get("/ledger").status_code == 403


# ---- a county's size: set-based writes, the streaming reader ----------------------------------------
def big_ledger(path: Path, rows: int, last: list[Any] | None = None) -> Path:
    """A county-like file of `rows` children (ID numbers or none, one or two categories, a guardian, some
    with a caregiver, some in a village and some only in a township), optionally ending with `last`."""
    places = [("泗城镇", "东关村"), ("草沟镇", "新庄村"), ("泗城镇", ""), ("草沟镇", "")]
    kinds = ["留守儿童", "孤儿", "事实无人抚养儿童、残疾儿童", "家庭贫困儿童"]
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(HEADERS)
    for n in range(rows):
        born = date(2010 + n % 12, 1 + n % 12, 1 + n % 28)
        township, village = places[n % 4]
        values = {
            "姓名": f"儿童{n:05d}",
            "身份证号": "" if n % 10 == 3 else ident(born, n % 1000, region=f"3413{n // 1000:02d}"),
            "性别": "男" if n % 2 else "女",
            "出生日期": born.isoformat() if n % 3 else born,  # text, or a date cell
            "乡镇": township,
            "村": village,
            "类别": kinds[n % 4],
            "监护人姓名": f"监护人{n:05d}",
            "监护人关系": "祖父",
            "监护人电话": f"138{n:08d}",
            "住址": f"{township}{village}{n % 50}组",
            "委托照护人": f"照护人{n:05d}" if n % 5 == 0 else "",
            "委托照护人关系": "外祖母" if n % 5 == 0 else "",
        }
        sheet.append([values.get(h, "") for h in HEADERS])
    if last is not None:
        sheet.append(last)
    book.save(path)
    return path


def test_a_county_sized_file_round_trips_sealed_and_again_changes_nothing(db_url: str, tmp_path: Path) -> None:
    from shouhu import timeline

    path = big_ledger(tmp_path / "county.xlsx", 3000)
    first = ledger.import_ledger(path, "sixian", "sx-civil")
    assert first["errors"] == [] and (first["created"], first["updated"], first["unchanged"]) == (3000, 0, 0)
    with Session(db.engine()) as s:
        children = s.exec(select(Child).where(Child.enrolled_from == "import")).all()
        guardians = s.exec(select(Guardian)).all()
        assert len(children) == 3000 and len(guardians) == 3000
        assert all(timeline.row_holds(c) for c in children) and all(timeline.row_holds(g) for g in guardians)
        assert len(s.exec(select(ChildCategory)).all()) == 3000 + 750  # one category in three of four rows
        assert len(s.exec(select(EntrustedCare)).all()) == 600
        events = s.exec(select(ChildEvent)).all()
        assert {(e.seq, e.kind) for e in events} == {(1, "enrolled")} and len(events) == 3000
    before = state()
    again = ledger.import_ledger(path, "sixian", "sx-civil")
    assert again["errors"] == [] and (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3000)
    assert state() == before
    changed = big_ledger(tmp_path / "changed.xlsx", 3000, last=row(姓名="新来的"))
    update = ledger.import_ledger(changed, "sixian", "sx-manager")
    assert (update["created"], update["updated"], update["unchanged"]) == (1, 0, 3000)
    with Session(db.engine()) as s:
        assert all(timeline.row_holds(c) for c in s.exec(select(Child)))


@pytest.mark.parametrize("where", ["checked", "planned"])
def test_a_refusal_late_in_a_big_file_leaves_nothing_written(db_url: str, tmp_path: Path, where: str) -> None:
    """A bad last row (found when rows are checked), or a last row of another county's child (found when
    the import is planned against the database): nothing of the 3,000 rows before it is written."""
    if where == "planned":
        other = ident(date(2016, 5, 1), 101, region="370611")
        ledger.import_ledger(
            xlsx(tmp_path / "yt.xlsx", [row(身份证号=other, 乡镇="清洋街道", 村="西陈家村")]),
            "yantai",
            _civil("yantai"),
        )
        last, code = row(身份证号=other), "other_jurisdiction"
    else:
        last, code = row(乡镇="火星镇"), "unknown_township"
    before = state()
    result = ledger.import_ledger(big_ledger(tmp_path / "big.xlsx", 3000, last=last), "sixian", "sx-civil")
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(3002, code)] and result["written"] is False
    assert state() == before


def test_a_database_refusal_of_a_bulk_write_names_no_childs_data(db_url: str) -> None:
    """A bulk write the database refuses (here: an ID number already on file) is rewritten: the
    error names the table and the constraint, never the row's name or ID number (PostgreSQL's own
    message would quote them)."""
    import uuid
    from datetime import datetime

    from shouhu import bulk
    from shouhu.clock import CHINA_TZ
    from shouhu.errors import Conflict

    number = ident(date(2014, 2, 3), 55)
    values = {
        "jurisdiction": "sixian",
        "id_number": number,
        "name": "保密的名字",
        "birth_date": date(2014, 2, 3),
        "gender": "female",
        "township": "sx-t-sc",
        "village": None,
        "address": None,
        "left_behind": False,
        "created_at": datetime(2026, 12, 1, tzinfo=CHINA_TZ),
        "school": None,
        "enrolled_from": "import",
        "seal": "",
    }
    rows = [{"id": uuid.uuid4(), **values}, {"id": uuid.uuid4(), **values}]
    with pytest.raises(Conflict) as refused, db.transaction() as s:
        bulk.insert_rows(s, Child, rows)
    assert refused.value.code == "bulk_write_failed" and refused.value.field == "child"
    assert number not in refused.value.message and "保密" not in refused.value.message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    with Session(db.engine()) as s:
        assert s.exec(select(Child).where(Child.id_number == number)).first() is None


def _workbooks(tmp_path: Path) -> list[Path]:
    """Workbooks as Excel and openpyxl write them: shared strings with rich-text runs, inline strings
    (write-only mode), dates and times under date formats, numbers, booleans, empty cells and rows left
    out, the 1904 calendar, a second sheet that is not read."""
    from datetime import datetime, time, timedelta

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    made = []
    for epoch in ("1900", "1904"):
        book = Workbook()
        if epoch == "1904":
            book.epoch = CALENDAR_MAC_1904
        sheet = book.active
        sheet.append(HEADERS)
        sheet.append(["陈晓", "341324201605011019", "女", date(2016, 5, 1), "泗城镇", None, "留守儿童"])
        sheet.append(
            [CellRichText("张", TextBlock(InlineFont(b=True), "小"), "雨"), 3.5, True, datetime(2015, 1, 2, 3, 4, 5)]
        )
        sheet["D3"].number_format = "yyyy/m/d h:mm"
        sheet.append([None, 12345678901234567, False, 45000, "  空格  ", "x005F_y"])
        sheet["D4"].number_format = "yyyy-mm-dd"
        sheet["A7"] = "第 7 行，中间空两行"
        sheet["Q7"] = time(8, 30)
        sheet["P7"] = timedelta(hours=30)
        sheet["P7"].number_format = "[h]:mm:ss"
        sheet["C8"] = "=1+1"
        sheet["E8"] = 1.0
        book.create_sheet("另一页").append(["不读"])
        made.append(tmp_path / f"excel-{epoch}.xlsx")
        book.save(made[-1])
    big_ledger(tmp_path / "inline.xlsx", 40, last=[None, "最后一行"])
    return [*made, tmp_path / "inline.xlsx", SAMPLES / "ledger-sample.xlsx", SAMPLES / "ledger-template.xlsx"]


def test_the_workbook_reads_as_openpyxl_reads_it(tmp_path: Path) -> None:
    from shouhu import xlsx as reader

    for path in _workbooks(tmp_path):
        expected = list(load_workbook(path, read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True))
        assert list(reader.first_sheet_rows(path)) == expected, path.name
    assert list(reader.first_sheet_rows(tmp_path / "excel-1900.xlsx"))[2][0] == "张小雨"  # the runs joined


def test_a_damaged_workbook_is_refused_as_unreadable(db_url: str, tmp_path: Path) -> None:
    import zipfile

    long, short = big_ledger(tmp_path / "long.xlsx", 20), xlsx(tmp_path / "short.xlsx", [row()])
    for name, source, damage in (
        ("cut.xlsx", long, lambda xml: xml[: len(xml) // 2]),  # the sheet's XML ends mid-row
        ("dimension.xlsx", short, lambda xml: xml.replace(b'<dimension ref="', b'<dimension ref="!')),
    ):
        with zipfile.ZipFile(source) as zin, zipfile.ZipFile(tmp_path / name, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                changed = damage(data) if item.filename.endswith("sheet1.xml") else data
                assert changed != data or not item.filename.endswith("sheet1.xml")
                zout.writestr(item, changed)
        before = state()
        with pytest.raises(InvalidInput) as refused:
            ledger.import_ledger(tmp_path / name, "sixian", "sx-civil")
        assert refused.value.code == "unreadable_input" and state() == before
