"""The county's ledger of children (一人一档, seed 000 §三(一), seed 002 §四(一)): imported from the
spreadsheet the county already keeps (XLSX or CSV with Chinese headers) and exported back to XLSX.

An import is all or nothing: every row is checked first; any row with a problem is reported by row
number, column and reason (in Chinese) and nothing is written — unless `skip_bad_rows`, when the good
rows are written and the bad ones listed. Rows are matched to a child by ID number, else by name, birth
date and village (township where no village is given), so the same file twice changes nothing, and a
row that changes a child updates the file and says so on the child's own timeline (ChildEvent).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, func, select

from models import AccessRecord, Child, ChildCategory, ChildEvent, EntrustedCare, Guardian, User
from models.types import table_of
from shouhu import access, bulk, db, idnumber, masking, policy, timeline, xlsx
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Forbidden, InvalidInput, ShouhuError
from shouhu.inputs import BIDI_CONTROLS, age_on

# The spreadsheet's columns (order free; other columns are ignored and listed): header → field.
HEADERS: dict[str, str] = {
    "姓名": "name",
    "身份证号": "id_number",
    "性别": "gender",
    "出生日期": "birth_date",
    "乡镇": "township",
    "村": "village",
    "类别": "categories",
    "监护人姓名": "guardian_name",
    "监护人关系": "guardian_relation",
    "监护人电话": "guardian_phone",
    "住址": "address",
    "就读学校": "school",
    "委托照护人": "carer_name",
    "委托照护人关系": "carer_relation",
    "委托照护人电话": "carer_phone",
    "委托照护起始日期": "carer_since",
    "父母联系方式": "parents_contact",
}
REQUIRED = ("姓名", "性别", "出生日期", "乡镇", "类别")
KEEPERS = {"civil_affairs", "manager"}  # who imports and exports the county's ledger
GENDERS = {"男": "male", "女": "female"}
GENDER_ZH = {"male": "男", "female": "女", "unknown": ""}
PHONE = re.compile(r"^[0-9+\- ]{3,32}$")
SEPARATORS = re.compile(r"[、,，;；]")
ID_PROBLEMS = {
    "bad_id_number": "身份证号格式不正确（应为 18 位：17 位数字加校验位）",
    "bad_id_checksum": "身份证号校验位不正确，请核对",
    "id_birth_mismatch": "身份证号中的出生日期与“出生日期”一栏不一致",
}
PROGRESS_EVERY = 500


@dataclass
class RowProblem:
    row: int
    column: str
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.column, "code": self.code, "message": self.message}


@dataclass
class LedgerRow:
    """One checked row: what the child's file should say."""

    row: int
    name: str
    gender: str
    birth_date: date
    township: str
    village: str | None
    categories: list[str]
    id_number: str | None = None
    address: str | None = None
    school: str | None = None
    guardian: dict[str, str | None] | None = None
    carer: dict[str, Any] | None = None
    problems: list[RowProblem] = field(default_factory=list)

    def key(self) -> tuple[str, ...]:
        if self.id_number:
            return ("id", self.id_number)
        return ("name", self.name, self.birth_date.isoformat(), self.village or self.township)


# ---- reading the file ------------------------------------------------------------------
def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """(headers, rows as {header: cell}) of an .xlsx (first sheet) or a UTF-8 .csv (BOM or not)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInput("unreadable_input", f"file: cannot read {path.name}", "file")
    if suffix == ".xlsx":
        try:
            lines = xlsx.first_sheet_rows(path)
            header = [str(h).strip() if h is not None else "" for h in next(lines, ())]
        except (xlsx.NotAWorkbook, ValueError, SyntaxError) as exc:  # SyntaxError: ElementTree's ParseError
            raise InvalidInput(
                "unreadable_input", f"file: {path.name} is not an XLSX workbook ({type(exc).__name__})", "file"
            ) from None
        return header, ((n, dict(zip(header, values, strict=False))) for n, values in enumerate(lines, start=2))
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("bad_encoding", "file: a CSV must be UTF-8 (Excel: 另存为 CSV UTF-8)", "file") from None
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        return header, ((n, dict(zip(header, values, strict=False))) for n, values in enumerate(reader, start=2))
    raise InvalidInput("unsupported_file", f"file: {path.name} — a ledger is an .xlsx or a .csv file", "file")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _clean(value: Any, column: str, row: int, problems: list[RowProblem], limit: int = 200) -> str | None:
    text = _text(value)
    if not text:
        return None
    if len(text) > limit:
        problems.append(RowProblem(row, column, "too_long", f"“{column}”过长（最多 {limit} 个字符）"))
        return None
    if not text.isprintable() or any(c in BIDI_CONTROLS for c in text):
        problems.append(RowProblem(row, column, "control_character", f"“{column}”含有不允许的控制字符"))
        return None
    return text


def _day(value: Any, column: str, row: int, problems: list[RowProblem]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        problems.append(
            RowProblem(row, column, "bad_date", f"“{column}”应为日期，格式 YYYY-MM-DD，而不是“{text[:20]}”")
        )
        return None


def check_row(
    p: policy.Pack, row: int, cells: dict[str, Any], today: date, places: _Places | None = None
) -> LedgerRow | None:
    """A row as the child's file should say it, or None with its problems (each names its column)."""
    places = places or _Places(p)
    problems: list[RowProblem] = []
    value = {f: cells.get(h) for h, f in HEADERS.items()}
    for header in REQUIRED:
        if not _text(cells.get(header)):
            problems.append(RowProblem(row, header, "missing_field", f"“{header}”必填"))
    name = _clean(value["name"], "姓名", row, problems, 40)
    gender_text = _text(value["gender"])
    gender = GENDERS.get(gender_text)
    if gender_text and gender is None:
        problems.append(RowProblem(row, "性别", "invalid_value", f"“性别”只能填 男 或 女，而不是“{gender_text[:10]}”"))
    born = _day(value["birth_date"], "出生日期", row, problems)
    if born and born > today:
        problems.append(RowProblem(row, "出生日期", "born_in_future", "出生日期不能晚于今天"))
    elif born and age_on(born, today) >= 18:
        problems.append(
            RowProblem(row, "出生日期", "not_a_minor", "已年满 18 周岁：台账只收未成年人（未成年人保护法第二条）")
        )
    id_number = _clean(value["id_number"], "身份证号", row, problems, 18)
    if id_number and born:
        try:
            id_number = idnumber.validate(id_number, born, "身份证号")
        except InvalidInput as exc:
            problems.append(RowProblem(row, "身份证号", exc.code, ID_PROBLEMS.get(exc.code, "身份证号不正确")))
    township = village = None
    if _text(value["township"]):
        township = places.find("township", None, _text(value["township"]))
        if township is None:
            where = _text(value["township"])[:20]
            problems.append(RowProblem(row, "乡镇", "unknown_township", f"“{where}”不是{p.name}的乡镇（街道）"))
    if township is not None and _text(value["village"]):
        village = places.find("village", township, _text(value["village"]))
        if village is None:
            where = _text(value["village"])[:20]
            problems.append(RowProblem(row, "村", "unknown_village", f"“{where}”不是{township.name}的村（居）"))
    categories = _categories(p, _text(value["categories"]), row, problems)
    guardian = _person(value, "guardian", ("监护人姓名", "监护人关系", "监护人电话"), row, problems)
    carer = _person(value, "carer", ("委托照护人", "委托照护人关系", "委托照护人电话"), row, problems)
    if carer is not None:
        carer["since"] = _day(value["carer_since"], "委托照护起始日期", row, problems)
        carer["parents_contact"] = _clean(value["parents_contact"], "父母联系方式", row, problems, 100)
    if problems or name is None or gender is None or born is None or township is None:
        return LedgerRow(row, "", "", today, "", None, [], problems=problems)
    return LedgerRow(
        row,
        name,
        gender,
        born,
        township.code,
        village.code if village else None,
        categories,
        id_number=id_number,
        address=_clean(value["address"], "住址", row, problems),
        school=_clean(value["school"], "就读学校", row, problems, 100),
        guardian=guardian,
        carer=carer,
        problems=problems,
    )


SUFFIXES = ("人民政府", "街道办事处", "办事处", "村民委员会", "居民委员会", "委员会")


def names_of(unit: policy.UnitRule, parent: policy.UnitRule | None) -> set[str]:
    """What a spreadsheet may call a unit: its code, its full name, or its short name (泗城镇 for
    泗城镇人民政府, 东关村 or 东关 for 泗城镇东关村民委员会)."""
    found = {unit.code, unit.name}
    short = unit.name
    if parent is not None:
        for prefix in sorted(names_of(parent, None) - {parent.code}, key=len, reverse=True):
            if short.startswith(prefix) and len(short) > len(prefix):
                short = short.removeprefix(prefix)
                break
    for suffix in SUFFIXES:
        if short.endswith(suffix) and len(short) > len(suffix):
            short = short[: -len(suffix)]
            break
    if short != unit.name:
        found |= {short, f"{short}村", f"{short}街道", f"{short}社区", f"{short}镇", f"{short}乡"}
    return found


class _Places:
    """Every name a spreadsheet may give a township or a village (`names_of`), worked out once per
    import rather than once per row: the first unit of the pack's list that answers to a name wins."""

    def __init__(self, p: policy.Pack) -> None:
        units = {u.code: u for u in p.unit_list}
        self.named: dict[tuple[str, str | None, str], policy.UnitRule] = {}
        for u in p.unit_list:
            if u.type == "township":
                for name in names_of(u, None):
                    self.named.setdefault(("township", None, name), u)
            elif u.type == "village" and u.parent in units:
                for name in names_of(u, units[u.parent]):
                    self.named.setdefault(("village", u.parent, name), u)

    def find(self, kind: str, parent: policy.UnitRule | None, text: str) -> policy.UnitRule | None:
        """A township (or a village of `parent`) by code, full name or short name."""
        return self.named.get((kind, parent.code if parent is not None else None, text))


def _categories(p: policy.Pack, text: str, row: int, problems: list[RowProblem]) -> list[str]:
    known = p.child_categories.value
    by_label = {c.label: code for code, c in known.items()}
    found: list[str] = []
    for part in (x.strip() for x in SEPARATORS.split(text) if x.strip()):
        code = part if part in known else by_label.get(part)
        if code is None:
            problems.append(
                RowProblem(row, "类别", "unknown_category", f"未知类别“{part[:20]}”；可填：{'、'.join(by_label)}")
            )
        elif code not in found:
            found.append(code)
    return found


def _person(
    value: dict[str, Any], who: str, columns: tuple[str, str, str], row: int, problems: list[RowProblem]
) -> dict[str, Any] | None:
    name = _clean(value[f"{who}_name"], columns[0], row, problems, 40)
    relation = _clean(value[f"{who}_relation"], columns[1], row, problems, 20)
    phone = _clean(value[f"{who}_phone"], columns[2], row, problems, 32)
    if phone and not PHONE.match(phone):
        problems.append(RowProblem(row, columns[2], "invalid_value", f"“{columns[2]}”只能含数字、空格、+ 和 -"))
    if (relation or phone) and not name:
        problems.append(RowProblem(row, columns[0], "missing_field", f"填了关系或电话时“{columns[0]}”必填"))
    return {"name": name, "relation": relation or "不详", "phone": phone} if name else None


# ---- importing ---------------------------------------------------------------------------
def _record(s: Session, actor: str, action: str, target: str, allowed: bool = True, reason: str = "") -> None:
    """Every import, export and refusal of the ledger is attributable (accessrecord; never a child's data)."""
    s.add(AccessRecord(at=now(), actor=actor, action=action, target=target, allowed=allowed, reason=reason))


def _keeper(s: Session, actor_name: str | None, jurisdiction: str, action: str) -> User:
    actor = access.user(s, actor_name)
    if actor.role not in KEEPERS or actor.jurisdiction != jurisdiction:
        _record(s, actor.username, action, jurisdiction, allowed=False, reason="not_permitted")
        s.commit()
        raise Forbidden(
            "not_permitted",
            f"{actor.username} may not keep {jurisdiction}'s ledger (civil affairs and managers of the county)",
            "as",
        )
    return actor


def import_ledger(
    path: Path,
    jurisdiction: str,
    actor_name: str | None,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """`shouhu ledger import`: `{"rows","created","updated","unchanged","errors":[{"row","field","code","message"}],
    "ignored_columns","written"}`. Any error and not `skip_bad_rows` (or `dry_run`): nothing is written.

    Every row is checked and planned in memory first (what to insert, what to change); only then, if
    the import is to be written, is the plan written set-based in the one transaction (shouhu.bulk)."""
    p = policy.pack(jurisdiction)
    header, lines = read_rows(path)
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise InvalidInput(
            "missing_header",
            f"file: the header row lacks {'、'.join(missing)} (expected: {'、'.join(HEADERS)})",
            "file",
        )
    today = now().astimezone(CHINA_TZ).date()
    places = _Places(p)
    checked: list[LedgerRow] = []
    seen: dict[tuple[str, ...], int] = {}
    problems: list[RowProblem] = []
    try:
        for number, cells in lines:
            if not any(_text(v) for v in cells.values()):
                continue  # an empty line in a spreadsheet
            row = check_row(p, number, cells, today, places)
            if row is not None and not row.problems:
                first = seen.setdefault(row.key(), number)
                if first != number:
                    row.problems.append(RowProblem(number, "姓名", "duplicate_row", f"与第 {first} 行是同一名儿童"))
            if row is not None:
                problems += row.problems
                checked.append(row)
            if progress is not None and len(checked) % PROGRESS_EVERY == 0:
                progress(len(checked))
    except (xlsx.NotAWorkbook, ValueError, SyntaxError) as exc:  # a workbook damaged after its first rows
        raise InvalidInput(
            "unreadable_input", f"file: {path.name} is not an XLSX workbook ({type(exc).__name__})", "file"
        ) from None
    good = [r for r in checked if not r.problems]
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with db.transaction() as s:
        actor = _keeper(s, actor_name, jurisdiction, "ledger_import")
        write = not dry_run and (not problems or skip_bad_rows)
        plan = _Plan(s, p, actor.username, f"import:{path.name}"[:200], today)
        plan.check_elsewhere(good)
        for row in good:
            try:
                counts[plan.apply(row)] += 1
            except ShouhuError as exc:
                problems.append(RowProblem(row.row, "身份证号", exc.code, exc.message))
        write = write and (not problems or skip_bad_rows)
        if write:
            plan.write()
            _record(s, actor.username, "ledger_import", jurisdiction, reason=f"rows={len(checked)}")
        else:
            s.rollback()
    if progress is not None:
        progress(len(checked))
    return {
        "rows": len(checked),
        **counts,
        "errors": [x.as_json() for x in sorted(problems, key=lambda x: x.row)],
        "ignored_columns": [h for h in header if h and h not in HEADERS],
        "written": write,
    }


CHILD_COLUMNS = (
    "id",
    "jurisdiction",
    "id_number",
    "name",
    "birth_date",
    "gender",
    "township",
    "village",
    "address",
    "school",
    "left_behind",
    "created_at",
)
UPDATED_COLUMNS = ("name", "gender", "birth_date", "township", "village", "address", "school", "left_behind")


class _Plan:
    """What an import changes, worked out row by row in memory against the county's files (read once,
    as plain rows), then written set-based (`write`): children, categories, guardians, caregivers and
    the children's timeline events inserted in bulk, changed rows updated in bulk, every child and
    guardian row sealed with the key read once."""

    def __init__(self, s: Session, p: policy.Pack, actor: str, source: str, today: date) -> None:
        self.s, self.p, self.actor, self.source, self.today = s, p, actor, source, today
        self.at = now()  # the import's moment: every row it writes carries it
        child = table_of(Child)
        self.by_key: dict[tuple[str, ...], dict[str, Any]] = {}
        files: dict[uuid.UUID, dict[str, Any]] = {}
        joined: dict[uuid.UUID, uuid.UUID] = {}
        for found in s.execute(
            select_columns(*(child.c[c] for c in CHILD_COLUMNS), child.c.merged_into).where(
                child.c.jurisdiction == p.pack
            )
        ).mappings():
            held = dict(found)
            if (merged_into := held.pop("merged_into")) is not None:
                joined[held["id"]] = merged_into
            files[held["id"]] = held
            key = (
                ("id", held["id_number"])
                if held["id_number"]
                else ("name", held["name"], held["birth_date"].isoformat(), held["village"] or held["township"])
            )
            self.by_key[key] = held
        for known, held in list(self.by_key.items()):  # a merged file answers with the one it joined
            if held["id"] in joined and joined[held["id"]] in files:
                self.by_key[known] = files[joined[held["id"]]]
        # What an update compares against, read once for the county (not three queries a row).
        in_county = select(child.c.id).where(child.c.jurisdiction == p.pack)
        self.categories: dict[uuid.UUID, dict[str, tuple[uuid.UUID, str]]] = {}
        for cid, child_id, code, source in s.execute(
            select_columns(
                col(ChildCategory.id),
                col(ChildCategory.child_id),
                col(ChildCategory.category),
                col(ChildCategory.source),
            ).where(col(ChildCategory.child_id).in_(in_county), col(ChildCategory.ended_on).is_(None))
        ):
            self.categories.setdefault(child_id, {})[code] = (cid, source)
        guardian = table_of(Guardian)
        self.guardians: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
        for g in s.execute(select_columns(guardian).where(guardian.c.child_id.in_(in_county))).mappings():
            self.guardians.setdefault(g["child_id"], {}).setdefault(g["name"], dict(g))
        self.carers: dict[uuid.UUID, tuple[uuid.UUID, str, str, str | None]] = {
            child_id: (cid, name, relation, phone)
            for cid, child_id, name, relation, phone in s.execute(
                select_columns(
                    col(EntrustedCare.id),
                    col(EntrustedCare.child_id),
                    col(EntrustedCare.name),
                    col(EntrustedCare.relation),
                    col(EntrustedCare.phone),
                ).where(col(EntrustedCare.child_id).in_(in_county), col(EntrustedCare.ended_on).is_(None))
            )
        }
        self.last_seq: dict[uuid.UUID, int] = dict(
            s.exec(
                select(ChildEvent.child_id, func.max(ChildEvent.seq))
                .where(col(ChildEvent.child_id).in_(in_county))
                .group_by(col(ChildEvent.child_id))
            ).all()
        )
        self.elsewhere: set[str] = set()
        self.new: dict[type[Any], list[dict[str, Any]]] = {
            Child: [],
            Guardian: [],
            ChildCategory: [],
            EntrustedCare: [],
            ChildEvent: [],
        }
        self.changed_children: list[dict[str, Any]] = []
        self.ended_categories: list[dict[str, Any]] = []
        self.guardian_phones: list[dict[str, Any]] = []
        self.ended_carers: list[dict[str, Any]] = []

    def check_elsewhere(self, rows: list[LedgerRow]) -> None:
        """ID numbers of the file that another county's ledger holds: one query per thousand, not per row."""
        new = [r.id_number for r in rows if r.id_number and r.key() not in self.by_key]
        for start in range(0, len(new), 1000):
            chunk = new[start : start + 1000]
            found = self.s.exec(select(Child.id_number).where(col(Child.id_number).in_(chunk))).all()
            self.elsewhere |= {n for n in found if n is not None}

    def apply(self, row: LedgerRow) -> str:
        child = self.by_key.get(row.key())
        if child is None and row.id_number in self.elsewhere:
            raise InvalidInput(
                "other_jurisdiction",
                "该儿童登记在其他县（区）的台账上：请由两地办理转移，不在导入中改动",
                "身份证号",
            )
        if child is None:
            return self._create(row)
        return self._update(child, row)

    def write(self) -> None:
        """The plan into the database: inserts first (children before what refers to them), then updates."""
        key = timeline.timeline_key()
        if self.new[Child] or self.changed_children or self.new[Guardian] or self.guardian_phones:
            timeline.ensure_key(self.s)
        for values in self.new[Child]:
            values["seal"] = timeline.seal_values(Child, values, key)
        for values in self.changed_children:
            values["seal"] = timeline.seal_values(Child, values, key)
        for values in self.new[Guardian]:
            values["seal"] = timeline.seal_values(Guardian, values, key)
        for values in self.guardian_phones:
            values["seal"] = timeline.seal_values(Guardian, values, key)
        for model, rows in self.new.items():
            bulk.insert_rows(self.s, model, rows)
        bulk.update_rows(
            self.s, Child, [{c: v[c] for c in ("id", *UPDATED_COLUMNS, "seal")} for v in self.changed_children]
        )
        bulk.update_rows(self.s, ChildCategory, self.ended_categories)
        bulk.update_rows(
            self.s, Guardian, [{"id": g["id"], "phone": g["phone"], "seal": g["seal"]} for g in self.guardian_phones]
        )
        bulk.update_rows(self.s, EntrustedCare, self.ended_carers)

    def _create(self, row: LedgerRow) -> str:
        child_id = uuid.uuid4()
        self.new[Child].append(
            {
                "id": child_id,
                "jurisdiction": self.p.pack,
                "id_number": row.id_number,
                "name": row.name,
                "birth_date": row.birth_date,
                "gender": row.gender,
                "township": row.township,
                "village": row.village,
                "address": row.address,
                "left_behind": "left_behind" in row.categories,
                "created_at": self.at,
                "school": row.school,
                "enrolled_from": "import",
            }
        )
        for code in row.categories:
            self._category(child_id, code)
        if row.guardian:
            self._guardian(child_id, row.guardian)
        if row.carer:
            self._carer(child_id, row.carer)
        labels = "、".join(self.p.child_categories.value[c].label for c in row.categories)
        self._event(
            child_id, "enrolled", f"列入台账（{labels}）", {"categories": row.categories, "source": self.source}
        )
        return "created"

    def _update(self, child: dict[str, Any], row: LedgerRow) -> str:
        changed: list[str] = []
        child_id: uuid.UUID = child["id"]
        wanted = {
            "name": row.name,
            "gender": row.gender,
            "birth_date": row.birth_date,
            "township": row.township,
            "village": row.village,
            "address": row.address,
            "school": row.school,
            "left_behind": "left_behind" in row.categories,
        }
        for name, value in wanted.items():
            if value is None and name in ("address", "school"):
                continue  # an empty cell does not erase what the file knows
            if child[name] != value:
                child[name] = value
                changed.append(name)
        if changed:
            self.changed_children.append(child)
        current = self.categories.get(child_id, {})
        for code in row.categories:
            if code not in current:
                self._category(child_id, code)
                changed.append(f"category+{code}")
        for code, (held_id, source) in current.items():
            if code not in row.categories and source.startswith("import"):  # a founded report's ends with its case
                self.ended_categories.append({"id": held_id, "ended_on": self.today})
                changed.append(f"category-{code}")
        if row.guardian:
            known = self.guardians.get(child_id, {}).get(row.guardian["name"] or "")
            if known is None:
                self._guardian(child_id, row.guardian)
                changed.append("guardian")
            elif row.guardian["phone"] and known["phone"] != row.guardian["phone"]:
                known["phone"] = row.guardian["phone"]
                self.guardian_phones.append(known)
                changed.append("guardian.phone")
        if row.carer:
            held_carer = self.carers.get(child_id)
            same = held_carer is not None and held_carer[1:] == (
                row.carer["name"],
                row.carer["relation"],
                row.carer["phone"],
            )
            if not same:
                if held_carer is not None:
                    self.ended_carers.append({"id": held_carer[0], "ended_on": self.today})
                self._carer(child_id, row.carer)
                changed.append("entrusted_care")
        if not changed:
            return "unchanged"
        self._event(
            child_id,
            "updated",
            f"台账导入更新：{'、'.join(CHANGE_ZH.get(c.split('+')[0].split('-')[0], c) for c in dict.fromkeys(changed))}",
            {"changed": changed, "source": self.source},
        )
        return "updated"

    def _category(self, child_id: uuid.UUID, code: str) -> None:
        self.new[ChildCategory].append(
            {
                "id": uuid.uuid4(),
                "child_id": child_id,
                "category": code,
                "started_on": self.today,
                "ended_on": None,
                "source": self.source,
                "created_at": self.at,
            }
        )

    def _guardian(self, child_id: uuid.UUID, guardian: dict[str, str | None]) -> None:
        self.new[Guardian].append(
            {
                "id": uuid.uuid4(),
                "child_id": child_id,
                "name": guardian["name"] or "",
                "relation": guardian["relation"] or "不详",
                "status": "不详",
                "extra": {},
                "phone": guardian["phone"],
            }
        )

    def _carer(self, child_id: uuid.UUID, carer: dict[str, Any]) -> None:
        self.new[EntrustedCare].append(
            {
                "id": uuid.uuid4(),
                "child_id": child_id,
                "name": carer["name"],
                "relation": carer["relation"],
                "phone": carer["phone"],
                "since": carer.get("since"),
                "parents_contact": carer.get("parents_contact"),
                "checked_by": None,
                "checked_on": None,
                "ended_on": None,
                "created_at": self.at,
            }
        )

    def _event(self, child_id: uuid.UUID, kind: str, summary: str, payload: dict[str, Any]) -> None:
        seq = self.last_seq.get(child_id, 0) + 1
        self.last_seq[child_id] = seq
        self.new[ChildEvent].append(
            {
                "id": uuid.uuid4(),
                "child_id": child_id,
                "seq": seq,
                "at": self.at,
                "actor": self.actor,
                "kind": kind,
                "summary": summary,
                "payload": payload,
            }
        )


CHANGE_ZH = {
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "township": "乡镇",
    "village": "村",
    "address": "住址",
    "school": "就读学校",
    "left_behind": "留守",
    "category": "类别",
    "guardian": "监护人",
    "guardian.phone": "监护人电话",
    "entrusted_care": "委托照护",
}


# ---- exporting -----------------------------------------------------------------------------
def export_ledger(jurisdiction: str, out: Path, actor_name: str | None) -> dict[str, Any]:
    """`shouhu ledger export`: every child with a category in force, in the import's columns (so the file
    can be edited and imported again). Roles that see identities masked get the masked file."""
    from openpyxl import Workbook

    p = policy.pack(jurisdiction)
    names = {u.code: u.name for u in p.unit_list}
    with db.transaction() as s:
        actor = _keeper(s, actor_name, jurisdiction, "ledger_export")
        visible = access.may_see_identity(actor)
        held = s.exec(
            select(ChildCategory.child_id, ChildCategory.category)
            .join(Child, col(Child.id) == col(ChildCategory.child_id))
            .where(Child.jurisdiction == jurisdiction, col(ChildCategory.ended_on).is_(None))
        ).all()
        categories: dict[uuid.UUID, list[str]] = {}
        for child_id, code in held:
            categories.setdefault(child_id, []).append(code)
        children = (
            s.exec(
                select(Child).where(col(Child.id).in_(list(categories))).order_by(col(Child.township), col(Child.name))
            ).all()
            if categories
            else []
        )
        guardians = (
            {g.child_id: g for g in s.exec(select(Guardian).where(col(Guardian.child_id).in_(list(categories))))}
            if categories
            else {}
        )
        carers = (
            {
                c.child_id: c
                for c in s.exec(
                    select(EntrustedCare).where(
                        col(EntrustedCare.child_id).in_(list(categories)), col(EntrustedCare.ended_on).is_(None)
                    )
                )
            }
            if categories
            else {}
        )
        _record(s, actor.username, "ledger_export", jurisdiction, reason=f"rows={len(children)}")
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(list(HEADERS))
    for c in children:
        g, carer = guardians.get(c.id), carers.get(c.id)
        shown = masking.child(c, visible=visible)
        sheet.append(
            [
                shown.get("name"),
                shown.get("id_number") or "",
                GENDER_ZH.get(c.gender, ""),
                c.birth_date.isoformat() if visible else masking.birth(c.birth_date),
                names.get(c.township, c.township),
                names.get(c.village or "", c.village or ""),
                "、".join(p.child_categories.value[k].label for k in categories[c.id] if k in p.child_categories.value),
                (g.name if visible else masking.name(g.name)) if g else "",
                g.relation if g else "",
                (g.phone or "") if g and visible else "",
                (c.address or "") if visible else "",
                c.school or "",
                (carer.name if visible else masking.name(carer.name)) if carer else "",
                carer.relation if carer else "",
                (carer.phone or "") if carer and visible else "",
                carer.since.isoformat() if carer and carer.since else "",
                (carer.parents_contact or "") if carer and visible else "",
            ]
        )
    for column in sheet.columns:
        column[0].font = column[0].font.copy(bold=True)
    sheet.column_dimensions["B"].width = 22
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return {"ok": True, "file": str(out), "rows": len(children), "masked": not visible}


def write_template(out: Path) -> dict[str, Any]:
    """An empty workbook with the expected headers (the required ones first)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(list(HEADERS))
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return {"ok": True, "file": str(out), "columns": list(HEADERS), "required": list(REQUIRED)}
