"""Recurring clocks started by the sweeper: the verification round and holiday patrols.

Each runs at most once a day per jurisdiction (a marker row in `counter` makes that
idempotent across ticks and sweepers), so other ticks cost one indexed read per pack. The
rounds run on the ledger (`shouhu.childfile`): a child is visited while a category is in force —
imported from the county's spreadsheet, or put there by a founded report — never because a report
was once made. The verification round is topped up daily: a child who joins the ledger mid-period is
verified in that period too; the unique (child, period) key keeps every child to one visit per
period. Open visits of a child who left coverage (an exit, the end of a phase-out) are cancelled.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Uuid, func, literal, literal_column
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models import Case, Child, Counter, VerificationVisit
from models.types import AwareDateTime, table_of
from shouhu import childfile, config, db, policy
from shouhu.clock import CHINA_TZ, now
from shouhu.daily import claim
from shouhu.timeline import lock_case
from tasks.transition import Transition


def period_of(day: date, every: str) -> tuple[str, datetime]:
    """The period key and its last instant: 2026Q4 → 2026-12-31 23:59:59 (Beijing time)."""
    if every == "month":
        first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        key = f"{day.year}-{day.month:02d}"
    else:
        q = (day.month - 1) // 3 + 1
        first_next = date(day.year + (q == 4), (q % 4) * 3 + 1, 1)
        key = f"{day.year}Q{q}"
    return key, datetime.combine(first_next, time.min, CHINA_TZ) - timedelta(seconds=1)


def _time_ordered_uuid() -> Any:
    """A UUID version 7 made by PostgreSQL (RFC 9562: 48 bits of Unix milliseconds, then random bits).

    A round writes 100,000 visits a county; random ids land all over the primary key's index, and on
    a province's ten million each insert touches a page of its own (bench/province.py: a quarter of
    the round's time). Ids that rise with time go to the index's last pages.
    """
    return literal_column(
        "encode(set_byte(substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)"
        " || substring(uuid_send(gen_random_uuid()) FROM 7), 6, 112 | (get_byte(uuid_send(gen_random_uuid()), 6) & 15)),"
        " 'hex')::uuid",
        Uuid,
    )


def _insert_visits(session: Session, jurisdiction: str, period: str, due: datetime, covered: Any, day: date) -> None:
    """One set-based INSERT … SELECT: a visit in `period` for every minor matching `covered` who has none.

    The children already visited in the period are left out before the insert (a probe of the
    (child, period) key each, so the daily top-up costs reads, not a province-wide join); the
    unique key still settles a race with another writer. Rows go in child order, so the key's index
    is written in one sweep rather than at random.
    """
    dialect = session.get_bind().dialect.name
    new_id = _time_ordered_uuid() if dialect == "postgresql" else func.lower(func.hex(func.randomblob(16)))
    adult_born = date(day.year - 18, day.month, min(day.day, 28))
    visited = (
        sa_select(literal(1))
        .where(col(VerificationVisit.child_id) == col(Child.id), col(VerificationVisit.period) == period)
        .offset(0)  # a probe per child (see childfile.covered)
    )
    query = (
        sa_select(
            new_id,
            col(Child.jurisdiction),
            col(Child.id),
            func.coalesce(Child.village, Child.township),
            literal(period),
            literal(due, AwareDateTime()),
            literal("open"),
            literal({}, JSON()),
            literal(now(), AwareDateTime()),
        )
        .where(col(Child.jurisdiction) == jurisdiction, col(Child.birth_date) > adult_born, covered, ~visited.exists())
        .order_by(col(Child.id))
    )
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table_of(VerificationVisit))
    statement = insert.from_select(
        ["id", "jurisdiction", "child_id", "unit", "period", "due_at", "status", "outcome", "created_at"], query
    ).on_conflict_do_nothing()
    session.execute(statement)


def _count(session: Session, jurisdiction: str, period: str) -> int:
    return session.exec(
        select(func.count())
        .select_from(VerificationVisit)
        .where(
            VerificationVisit.jurisdiction == jurisdiction,
            VerificationVisit.period == period,
            VerificationVisit.status != "cancelled",
        )
    ).one()


def generate_verification_round(session: Session, jurisdiction: str, day: date) -> int:
    """A visit for every minor on the ledger with a category in force, due at period end (seed 001 §二(一)6).

    Returns how many visits the period now has (drivers do not all report an INSERT … SELECT count).
    """
    pack = policy.pack(jurisdiction)
    period, due = period_of(day, pack.verification_visits.value)
    _insert_visits(session, jurisdiction, period, due, childfile.covered(Child.id, day, probe=True), day)
    return _count(session, jurisdiction, period)


def round_marker(pack: policy.Pack, day: date) -> str:
    """The daily claim of a county's verification round (shouhu.daily.claim): taken once a day, with its visits."""
    period, _ = period_of(day, pack.verification_visits.value)
    return f"verification:{pack.pack}:{period}:{day}"


def patrol_marker(jurisdiction: str, window: Any, day: date) -> str:
    """The daily claim of a county's holiday patrol window."""
    return f"patrol:{jurisdiction}:{window.name}:{day}"


def open_windows(pack: policy.Pack, day: date) -> list[tuple[Any, date]]:
    """The pack's patrol windows open on `day` (seed 001 §二(二)9), each with its last day."""
    found = []
    for window in pack.patrol_windows.value:
        start = date(day.year, *map(int, window.start.split("-")))
        end = date(day.year, *map(int, window.end.split("-")))
        if start <= day <= end:
            found.append((window, end))
    return found


def patrol_period(day: date, window: Any) -> str:
    """The key a window's ledger patrols share: 2027-寒假重点时段巡查."""
    return f"{day.year}-{window.name}"


def open_ledger_patrols(session: Session, jurisdiction: str, day: date, window: Any, due: datetime) -> int:
    """寒暑假重点时段巡查 of the ledger's key children (seed 001 §二(二)9: 监护较差、失学辍学、无户籍、
    重残重病): a patrol visit each, on the village's visit list, unless an open medium/high-risk case
    already sends the village director to the child (that case gets its own patrol task). Returns how
    many patrols this call added."""
    categories = policy.pack(jurisdiction).patrol_categories.value
    if not categories:
        return 0
    period = patrol_period(day, window)
    with_case = sa_select(col(Case.child_id)).where(
        col(Case.jurisdiction) == jurisdiction, col(Case.status) == "open", col(Case.risk_level).in_(["medium", "high"])
    )
    covered = childfile.covered(Child.id, day, categories, probe=True) & col(Child.id).not_in(with_case)
    before = _count(session, jurisdiction, period)
    _insert_visits(session, jurisdiction, period, due, covered, day)
    return _count(session, jurisdiction, period) - before


def open_patrols(session: Session, jurisdiction: str, day: date) -> int:
    """寒暑假重点时段巡查 (seed 001 §二(二)9): a visit task for each open medium/high-risk case, and a
    patrol visit for each key child on the ledger (`open_ledger_patrols`).

    Checked once a day while a window is open, so a case that becomes a key case mid-window
    gets its patrol too; each case gets one patrol per window.
    """
    pack = policy.pack(jurisdiction)
    opened = 0
    for window, end in open_windows(pack, day):
        if not claim(session, patrol_marker(jurisdiction, window, day)):
            continue
        due = datetime.combine(end, time(23, 59), CHINA_TZ)
        opened += open_ledger_patrols(session, jurisdiction, day, window, due)
        cases = session.exec(
            select(Case.id).where(
                Case.jurisdiction == jurisdiction, Case.status == "open", col(Case.risk_level).in_(["medium", "high"])
            )
        ).all()
        for case_id in cases:
            if not claim(session, f"patrol:{window.name}:{day.year}:{case_id}"):
                continue
            case = lock_case(session, case_id)
            t = Transition(session, case, None, "system:sweeper", dedupe=f"patrol:{window.name}:{day.year}")
            task = t.add_task(
                "holiday_patrol",
                window.name,
                t.village_or_township(),
                "village_director",
                now(),
                due,
                {"window": window.model_dump(), "source": pack.patrol_windows.source},
                stage="assessment",
            )
            t.notify("task_opened", to=[], task=task)
            opened += 1
    return opened


def _markers(day: date, jurisdiction: str) -> list[str]:
    """The claims a county's rounds would take today: the verification round's, and each open patrol window's."""
    pack = policy.pack(jurisdiction)
    return [round_marker(pack, day)] + [patrol_marker(jurisdiction, w, day) for w, _ in open_windows(pack, day)]


def _due_today(day: date) -> list[str]:
    """The counties with a round or patrol not yet claimed today: one indexed read for the province."""
    wanted = {j: _markers(day, j) for j in policy.jurisdiction_names()}
    with db.transaction() as session:
        names = [n for markers in wanted.values() for n in markers]
        taken: set[str] = set()
        for chunk in range(0, len(names), 1000):
            taken |= set(session.exec(select(Counter.name).where(col(Counter.name).in_(names[chunk : chunk + 1000]))))
    return [j for j, markers in wanted.items() if not taken.issuperset(markers)]


def _start_county(jurisdiction: str, day: date) -> dict[str, int]:
    """One county's round and patrols, in a transaction of its own: its claim commits with its visits."""
    started = {"verification_visits": 0, "patrols": 0, "left_coverage": 0}
    with db.transaction() as session:
        if claim(session, round_marker(policy.pack(jurisdiction), day)):
            started["left_coverage"] = childfile.cancel_uncovered_visits(session, jurisdiction, day)
            started["verification_visits"] = generate_verification_round(session, jurisdiction, day)
        started["patrols"] = open_patrols(session, jurisdiction, day)
    return started


def start_due_rounds(day: date | None = None) -> dict[str, Any]:
    """Called by every tick: starts what a new period or window asks for, once.

    Each county commits on its own (a province's round is a hundred counties' inserts, and one
    county's failure must not hold back the others' visits); on PostgreSQL `SHOUHU_ROUND_WORKERS`
    counties run at once. A county that failed is retried by the next tick (its claim rolled back
    with its work); the error is raised once every other county is done.
    """
    day = day or now().date()
    started: dict[str, Any] = {"verification_visits": 0, "patrols": 0, "left_coverage": 0}
    due = _due_today(day)
    workers = 1 if db.engine().dialect.name == "sqlite" else min(config.settings().round_workers, len(due) or 1)
    failed: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="round") as pool:
        for future in [pool.submit(_start_county, j, day) for j in due]:
            try:
                for key, value in future.result().items():
                    started[key] += value
            except Exception as exc:  # noqa: BLE001 — raised below, after the other counties
                failed.append(exc)
    if failed:
        raise failed[0]
    return started
