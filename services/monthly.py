"""Monthly statistics for the 民政局 (issue 14 §6): one month of the county's work, counts only.

- the ledger: children with a category in force at the month's end (started on or before its last day,
  not ended by then), by township and category;
- verification visits falling due in the month, by village (or township) unit: due, done, late, open,
  overdue;
- cases opened and closed in the month by situation, age band (age at the opening), sex, township, stage
  (opened cases, their stage now) and exit reason (closed cases);
- breaches open at any time in the month (opened before its end, not resolved before its start), by unit
  and level, 督办 apart.

Months are Beijing months (shouhu.clock.CHINA_TZ). Every figure is one SQL aggregate (GROUP BY): the
cost does not grow with rows fetched into Python. No child's name or any identity is ever in the
result (PIPL): codes, unit names and numbers only. Reading it is for managers and civil affairs of the
county (services.stats.SLA_ROLES); a read and a refusal are recorded in `accessrecord`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Integer, cast, distinct, func, true
from sqlalchemy import case as when_then
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models import AccessRecord, Breach, Case, Child, ChildCategory, Report, VerificationVisit
from services.stats import SLA_ROLES
from shouhu import access, childfile, config, db, policy
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Forbidden, InvalidInput, ShouhuError
from shouhu.vocab import LABELS_ZH, SITUATION_NAMES_ZH, STAGE_NAMES_ZH, named

MONTH_FORMAT = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SEX_ZH = {"female": "女", "male": "男", "unknown": "不详"}
AGE_BANDS = [
    ("0-5", "0–5岁", 0, 5),
    ("6-11", "6–11岁", 6, 11),
    ("12-15", "12–15岁", 12, 15),
    ("16-17", "16–17岁", 16, 17),
]
CLOSE_REASONS_ZH = {"unfounded": "经调查报告不属实"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---- the month ---------------------------------------------------------------------------------
def current_month() -> str:
    """This month by the clock, in Beijing time: 2026-11."""
    return f"{now().astimezone(CHINA_TZ):%Y-%m}"


def month_bounds(text: str | None) -> tuple[str, datetime, datetime, date]:
    """(YYYY-MM, first instant, first instant of the next month, last day) in Beijing time."""
    found = MONTH_FORMAT.match(text) if isinstance(text, str) else None
    if found is None:
        raise InvalidInput("bad_month", f"month must be YYYY-MM (e.g. 2026-11); got {str(text)[:20]!r}", "month")
    year, month = int(found.group(1)), int(found.group(2))
    low = policy.input_limits().oldest_year
    if not low <= year <= 2200:
        raise InvalidInput("out_of_range", f"month must be between {low} and 2200", "month")
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return (
        f"{year:04d}-{month:02d}",
        datetime.combine(first, time.min, CHINA_TZ),
        datetime.combine(following, time.min, CHINA_TZ),
        following - timedelta(days=1),
    )


# ---- who may read ------------------------------------------------------------------------------
def _reader(actor_name: str | None, jurisdiction: str, target: str) -> None:
    """Managers and civil affairs of the county; the read or the refusal goes into `accessrecord`."""
    with db.transaction() as s:
        actor = access.user(s, actor_name or config.settings().user)
        problem = None
        if actor.role not in SLA_ROLES:
            problem = Forbidden(
                "not_permitted",
                f"{actor.username} may not read the monthly statistics (managers and civil affairs)",
                "as",
            )
        elif actor.jurisdiction != jurisdiction:
            problem = Forbidden(
                "other_jurisdiction", f"{actor.username} works in {actor.jurisdiction}, not {jurisdiction}", "as"
            )
        s.add(
            AccessRecord(
                at=now(),
                actor=actor.username,
                action="monthly_stats",
                target=target,
                allowed=problem is None,
                reason=problem.code if problem else "",
            )
        )
        s.commit()
        if problem is not None:
            raise problem


def statistics_for(actor_name: str | None, jurisdiction: str, month: str | None) -> dict[str, Any]:
    """`shouhu stats` without --out: the month's figures as one JSON document (checked and recorded)."""
    key = month_bounds(month)[0]
    policy.pack(jurisdiction)
    _reader(actor_name, jurisdiction, f"{jurisdiction}:{key}")
    return monthly(jurisdiction, key)


def export_for(actor_name: str | None, jurisdiction: str, month: str | None, out: Path) -> dict[str, Any]:
    """`shouhu stats --out FILE.xlsx`: the same figures as a workbook, one sheet per section."""
    if out.suffix.lower() != ".xlsx":
        raise InvalidInput("invalid_value", f"--out must name an .xlsx file; got {out.name[:60]!r}", "out")
    figures = statistics_for(actor_name, jurisdiction, month)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(figures, out)
    return {
        "ok": True,
        "file": str(out),
        "jurisdiction": jurisdiction,
        "month": figures["month"],
        "sheets": [section["sheet"] for section in figures["sections"].values()],
    }


def workbook_for(actor_name: str, jurisdiction: str, month: str | None) -> tuple[str, bytes]:
    """The board's download: (file name, XLSX bytes)."""
    import io

    figures = statistics_for(actor_name, jurisdiction, month or current_month())
    buffer = io.BytesIO()
    write_workbook(figures, buffer)
    return f"{figures['county']}-{figures['month']}-月度统计.xlsx", buffer.getvalue()


# ---- the figures -------------------------------------------------------------------------------
def _column(key: str, header: str) -> dict[str, str]:
    return {"key": key, "header": header}


def _section(
    sheet: str, title: str, label: str, counts: list[tuple[str, str]], rows: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    columns = [_column("label", label)] + [_column(k, h) for k, h in counts]
    total: dict[str, Any] = {"label": "合计", **{k: sum(int(r.get(k) or 0) for r in rows) for k, _ in counts}}
    total.update(extra.pop("total", {}))
    return {"sheet": sheet, "title": title, "columns": columns, "rows": rows, "total": total, **extra}


def monthly(jurisdiction: str, month: str) -> dict[str, Any]:
    """The month's figures (no access check: statistics_for and export_for check the reader)."""
    key, lo, hi, last_day = month_bounds(month)
    p = policy.pack(jurisdiction)
    as_of = now()

    def unit_name(code: str | None) -> str:
        if not code:
            return "未填写"
        try:
            return p.unit(code).name
        except ShouhuError:
            return code

    townships = [u.code for u in p.unit_list if u.type == "township"]
    with Session(db.engine()) as s:
        dialect = s.get_bind().dialect.name
        sections = {
            "ledger": _ledger(s, p, jurisdiction, last_day, townships, unit_name),
            "visits": _visits(s, jurisdiction, lo, hi, as_of, unit_name, p),
            **_cases(s, p, jurisdiction, lo, hi, townships, unit_name, dialect),
            "breaches": _breaches(s, jurisdiction, lo, hi, unit_name),
        }
    year, number = key.split("-")
    title = f"{p.name} {year}年{int(number)}月 困境儿童和留守儿童工作统计"
    summary_rows = [
        {"label": "台账儿童（人，月末在册）", "count": sections["ledger"]["total"]["children"]},
        {"label": "本月到期核实走访", "count": sections["visits"]["total"]["due"]},
        {"label": "其中已走访", "count": sections["visits"]["total"]["done"]},
        {"label": "其中逾期未走访", "count": sections["visits"]["total"]["overdue"]},
        {"label": "本月新开案件", "count": sections["cases_by_sex"]["total"]["opened"]},
        {"label": "本月结案", "count": sections["cases_by_sex"]["total"]["closed"]},
        {"label": "本月涉及的逾期（件）", "count": sections["breaches"]["total"]["total"]},
        {"label": "其中督办", "count": sections["breaches"]["total"]["supervised"]},
    ]
    summary = {
        "sheet": "概况",
        "title": "概况",
        "columns": [_column("label", "项目"), _column("count", "数量")],
        "rows": summary_rows,
        "total": None,
    }
    return {
        "jurisdiction": jurisdiction,
        "county": p.name,
        "month": key,
        "title": title,
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "as_of": as_of.isoformat(),
        "sections": {"summary": summary, **sections},
    }


def _ledger(
    s: Session, p: policy.Pack, jurisdiction: str, last_day: date, townships: list[str], unit_name: Any
) -> dict[str, Any]:
    in_force = childfile.in_force(last_day)
    # A county's question asked of its own children, each child's categories through the (child, …)
    # index: joined plainly, PostgreSQL hashes every category of the province, once per county
    # (bench/province.py). OFFSET 0 keeps each category lookup a probe (see shouhu.childfile.covered).
    held_by_child = sa_select(col(ChildCategory.category)).where(col(ChildCategory.child_id) == col(Child.id), in_force)
    # a child holds one row per category at a time (the importer ends one before it starts it again): count(*)
    if s.get_bind().dialect.name == "postgresql":
        held_now = held_by_child.offset(0).lateral()
        by_category_query = (
            sa_select(col(Child.township), held_now.c.category, func.count())
            .select_from(Child)
            .join(held_now, true())
            .where(col(Child.jurisdiction) == jurisdiction)
            .group_by(col(Child.township), held_now.c.category)
        )
    else:  # SQLite has no LATERAL; its planner walks the child's index already
        by_category_query = (
            sa_select(col(Child.township), col(ChildCategory.category), func.count())
            .select_from(ChildCategory)
            .join(Child, col(Child.id) == col(ChildCategory.child_id))
            .where(col(Child.jurisdiction) == jurisdiction, in_force)
            .group_by(col(Child.township), col(ChildCategory.category))
        )
    by_category = s.execute(by_category_query).all()
    # children, each once however many categories: a semi-join, not a count(DISTINCT …) over the join
    by_township = s.execute(
        sa_select(col(Child.township), func.count())
        .where(col(Child.jurisdiction) == jurisdiction, childfile.covered(Child.id, last_day, probe=True))
        .group_by(col(Child.township))
    ).all()
    categories = list(p.child_categories.value)
    categories += sorted({c for _, c, _ in by_category} - set(categories))  # a code the pack no longer has
    children = {t: n for t, n in by_township}
    rows = []
    for township in townships + sorted(set(children) - set(townships)):
        row: dict[str, Any] = {"code": township, "label": unit_name(township), "children": children.get(township, 0)}
        row.update({c: 0 for c in categories})
        row.update({c: n for t, c, n in by_category if t == township})
        rows.append(row)
    labels = [(c, p.child_categories.value[c].label if c in p.child_categories.value else c) for c in categories]
    return _section(
        "台账儿童",
        f"台账儿童（{last_day:%Y-%m-%d} 在册，按乡镇和类别；一名儿童可属多个类别）",
        "乡镇（街道）",
        [*labels, ("children", "合计（人）")],
        rows,
        on=last_day.isoformat(),
    )


def _visits(
    s: Session, jurisdiction: str, lo: datetime, hi: datetime, as_of: datetime, unit_name: Any, p: policy.Pack
) -> dict[str, Any]:
    done = col(VerificationVisit.status) == "done"
    rows = s.execute(
        sa_select(
            col(VerificationVisit.unit),
            func.count(),
            func.sum(when_then((done, 1), else_=0)),
            func.sum(
                when_then((done & (col(VerificationVisit.completed_at) > col(VerificationVisit.due_at)), 1), else_=0)
            ),
            func.sum(when_then((~done & (col(VerificationVisit.due_at) < as_of), 1), else_=0)),
        )
        .where(
            col(VerificationVisit.jurisdiction) == jurisdiction,
            col(VerificationVisit.status) != "cancelled",
            col(VerificationVisit.due_at) >= lo,
            col(VerificationVisit.due_at) < hi,
        )
        .group_by(col(VerificationVisit.unit))
    ).all()

    def township_of(code: str) -> str:
        try:
            unit = p.unit(code)
        except ShouhuError:
            return ""
        return unit.parent or "" if unit.type == "village" else unit.code

    out = [
        {
            "code": unit,
            "label": unit_name(unit),
            "township": township_of(unit),
            "township_name": unit_name(township_of(unit)) if township_of(unit) else "",
            "due": int(due),
            "done": int(finished or 0),
            "done_late": int(late or 0),
            "open": int(due) - int(finished or 0),
            "overdue": int(overdue or 0),
        }
        for unit, due, finished, late, overdue in rows
    ]
    out.sort(key=lambda r: (r["township"], r["code"] != r["township"], r["code"]))
    section = _section(
        "核实走访",
        f"本月到期的核实走访（按村（居）或乡镇；逾期：截至 {as_of:%Y-%m-%d %H:%M} 仍未走访且已过期限）",
        "单位",
        [
            ("due", "应走访"),
            ("done", "已走访"),
            ("done_late", "其中逾期完成"),
            ("open", "未走访"),
            ("overdue", "逾期未走访"),
        ],
        out,
        as_of=as_of.isoformat(),
    )
    section["columns"].insert(1, _column("township_name", "所属乡镇（街道）"))
    section["total"]["township_name"] = ""
    return section


def _cases(
    s: Session,
    p: policy.Pack,
    jurisdiction: str,
    lo: datetime,
    hi: datetime,
    townships: list[str],
    unit_name: Any,
    dialect: str,
) -> dict[str, dict[str, Any]]:
    opened = (col(Case.opened_at) >= lo) & (col(Case.opened_at) < hi)
    closed = (col(Case.closed_at) >= lo) & (col(Case.closed_at) < hi)
    of_month = (col(Case.jurisdiction) == jurisdiction) & (opened | closed)
    opened_n = func.count(distinct(when_then((opened, col(Case.id)), else_=None)))
    closed_n = func.count(distinct(when_then((closed, col(Case.id)), else_=None)))

    if dialect == "postgresql":
        each = func.json_array_elements_text(col(Report.situations)).table_valued("value").alias("situation")
    else:
        each = func.json_each(col(Report.situations)).table_valued("value").alias("situation")

    def grouped(expr: Any, *, child: bool = False, situations: bool = False) -> dict[Any, tuple[int, int]]:
        query = sa_select(expr, opened_n, closed_n).select_from(Case)
        if child:
            query = query.join(Child, col(Child.id) == col(Case.child_id))
        if situations:  # each report's list exploded in SQL: a case counts once under each of its situations
            query = query.join(Report, col(Report.case_id) == col(Case.id)).join(each, true())
        return {k: (int(o or 0), int(c or 0)) for k, o, c in s.execute(query.where(of_month).group_by(expr)).all()}

    total_opened, total_closed = s.execute(sa_select(opened_n, closed_n).select_from(Case).where(of_month)).one()
    both = [("opened", "本月新开"), ("closed", "本月结案")]

    def rows_of(found: dict[Any, tuple[int, int]], keys: list[tuple[Any, str]]) -> list[dict[str, Any]]:
        listed = [*keys, *[(k, str(k)) for k in found if k not in {x for x, _ in keys}]]
        return [
            {"code": k, "label": label, "opened": found.get(k, (0, 0))[0], "closed": found.get(k, (0, 0))[1]}
            for k, label in listed
        ]

    situations = grouped(each.c.value, situations=True)
    situation_rows = rows_of(
        situations, [(k, SITUATION_NAMES_ZH.get(k, LABELS_ZH.get(k, k))) for k in SITUATION_NAMES_ZH]
    )

    # age at the opening, in Beijing time: (yyyymmdd of the opening − yyyymmdd of birth) // 10000
    if dialect == "postgresql":
        opened_day = func.to_char(func.timezone("Asia/Shanghai", col(Case.opened_at)), "YYYYMMDD")
        born_day = func.to_char(col(Child.birth_date), "YYYYMMDD")
    else:
        opened_day = func.strftime("%Y%m%d", col(Case.opened_at), "+8 hours")
        born_day = func.strftime("%Y%m%d", col(Child.birth_date))
    age = (cast(opened_day, Integer) - cast(born_day, Integer)) / 10000
    by_age = grouped(age, child=True)
    bands: dict[str, tuple[int, int]] = {}
    for years, (o, c) in by_age.items():
        band = next((b for b, _, a, z in AGE_BANDS if years is not None and a <= int(years) <= z), "other")
        was = bands.get(band, (0, 0))
        bands[band] = (was[0] + o, was[1] + c)
    age_rows = rows_of(bands, [(b, label) for b, label, _, _ in AGE_BANDS])
    for row in age_rows:
        if row["code"] == "other":
            row["label"] = "18岁及以上或不详"

    sex_rows = rows_of(grouped(col(Child.gender), child=True), list(SEX_ZH.items()))
    for row in sex_rows:
        row["label"] = SEX_ZH.get(row["code"], "不详")
    township_rows = rows_of(grouped(col(Case.township)), [(t, unit_name(t)) for t in townships])
    for row in township_rows:
        row["label"] = unit_name(row["code"])

    stages = grouped(col(Case.stage))
    stage_rows = [
        {"code": k, "label": named(k, STAGE_NAMES_ZH), "opened": stages.get(k, (0, 0))[0]}
        for k in [*STAGE_NAMES_ZH, *[x for x in stages if x not in STAGE_NAMES_ZH]]
    ]

    reasons = grouped(func.coalesce(col(Case.exit_reason), col(Case.close_reason)))
    labels = {**{k: v.label for k, v in p.exit_reasons.value.items()}, **CLOSE_REASONS_ZH}
    reason_rows = [
        {"code": k, "label": labels.get(k) or named(k), "closed": reasons.get(k, (0, 0))[1]}
        for k in [*labels, *sorted(k for k, (_, n) in reasons.items() if k not in labels and k and n)]
    ]
    if reasons.get(None, (0, 0))[1]:
        reason_rows.append({"code": None, "label": "未填写", "closed": reasons[None][1]})

    overall = {"opened": total_opened, "closed": total_closed}
    return {
        "cases_by_situation": _section(
            "案件·情形",
            "本月新开和结案的案件，按报告情形（一案可有多种情形，合计按案件计）",
            "情形",
            both,
            situation_rows,
            total=overall,
        ),
        "cases_by_age": _section(
            "案件·年龄段", "本月新开和结案的案件，按儿童年龄段（案件开立时的周岁）", "年龄段", both, age_rows
        ),
        "cases_by_sex": _section("案件·性别", "本月新开和结案的案件，按儿童性别", "性别", both, sex_rows),
        "cases_by_township": _section(
            "案件·乡镇", "本月新开和结案的案件，按乡镇（街道）", "乡镇（街道）", both, township_rows
        ),
        "cases_by_stage": _section(
            "案件·阶段", "本月新开的案件，按目前所处阶段", "阶段", [("opened", "本月新开")], stage_rows
        ),
        "cases_by_exit_reason": _section(
            "案件·结案原因", "本月结案的案件，按退出（结案）原因", "结案原因", [("closed", "本月结案")], reason_rows
        ),
    }


def _breaches(s: Session, jurisdiction: str, lo: datetime, hi: datetime, unit_name: Any) -> dict[str, Any]:
    resolved = col(Breach.resolved_at)
    rows = s.execute(
        sa_select(
            col(Breach.owner_unit),
            col(Breach.level),
            col(Breach.supervised),
            func.count(),
            func.sum(when_then(((resolved >= lo) & (resolved < hi), 1), else_=0)),
            func.sum(when_then((resolved.is_(None) | (resolved >= hi), 1), else_=0)),
        )
        .where(
            col(Breach.jurisdiction) == jurisdiction,
            col(Breach.opened_at) < hi,
            resolved.is_(None) | (resolved >= lo),
        )
        .group_by(col(Breach.owner_unit), col(Breach.level), col(Breach.supervised))
    ).all()
    table: dict[str, dict[str, Any]] = {}
    for unit, level, supervised, n, solved, still in rows:
        row = table.setdefault(
            unit,
            {
                "code": unit,
                "label": unit_name(unit),
                "level_1": 0,
                "level_2": 0,
                "level_3": 0,
                "supervised": 0,
                "total": 0,
                "resolved": 0,
                "open_at_end": 0,
            },
        )
        row[f"level_{min(max(int(level), 1), 3)}"] += n
        row["supervised"] += n if supervised else 0
        row["total"] += n
        row["resolved"] += int(solved or 0)
        row["open_at_end"] += int(still or 0)
    return _section(
        "逾期督办",
        "本月内存在的逾期（本月内任一时刻未解决，或本月内解决），按责任单位和已达级别",
        "责任单位",
        [
            ("level_1", "第1级"),
            ("level_2", "第2级"),
            ("level_3", "第3级及以上"),
            ("supervised", "其中督办"),
            ("total", "合计"),
            ("resolved", "本月已解决"),
            ("open_at_end", "月末仍未解决"),
        ],
        sorted(table.values(), key=lambda r: (-r["supervised"], -r["total"], r["code"])),
    )


# ---- the workbook ------------------------------------------------------------------------------
def write_workbook(figures: dict[str, Any], target: Path | IO[bytes]) -> None:
    """One sheet per section: the title (county and month), the section's title, Chinese headers, the rows
    with Chinese labels, and a 合计 row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for section in figures["sections"].values():
        sheet = book.create_sheet(section["sheet"][:31])
        columns = section["columns"]
        sheet.append([figures["title"]])
        sheet.append([section["title"]])
        sheet.append([c["header"] for c in columns])
        for row in section["rows"]:
            sheet.append([row.get(c["key"], "") for c in columns])
        if section["total"] is not None:
            sheet.append([section["total"].get(c["key"], "") for c in columns])
            for cell in sheet[sheet.max_row]:
                cell.font = bold
        sheet["A1"].font = Font(bold=True, size=14)
        for cell in sheet[3]:
            cell.font = bold
        width = max(1, len(columns))
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(width, 6))
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=max(width, 6))
        for i, c in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, 2 * len(c["header"]) + 2)
        sheet.column_dimensions["A"].width = 30
        sheet.freeze_panes = "B4"
    book.save(target)
