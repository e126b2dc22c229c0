"""A question about one child or one village reads a few rows; a county's round reads its own county
(issue 14, scale). On PostgreSQL, with 2,000 children in the county asked about and 50,000 in the
next, every statement that searching, the village's visit page, a county's round and its month send is run
under EXPLAIN ANALYZE, and no node may read (return or filter away) more of `child`, `childcategory`
or `verificationvisit` than the question needs.

The class of bug this finds: a query that is right but reads every row (an `OR` across a subquery
that turns an ID-number lookup into a scan of the county; an `EXISTS` the planner answers with a
hash of the province's categories). At test size it costs nothing; at ten million children it cost
a second a search (bench/province.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import make_report
from sqlalchemy import event, text
from sqlmodel import Session

from services import children, ledger, monthly, reports, visits
from shouhu import childfile, clock, db
from tasks import rounds

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "ledger-sample.xlsx"
ZHANG_ID = "341324201503080127"  # 张小雨 in the sample
WATCHED = {"child", "childcategory", "verificationvisit"}
SIXIAN, YANTAI = 2_000, 50_000


@pytest.fixture
def two_large_counties(db_url: str) -> dict[str, Any]:
    if not db_url.startswith("postgresql"):
        pytest.skip("the planner in question is PostgreSQL's (SQLite asks an index row by row anyway)")
    assert ledger.import_ledger(SAMPLE, "sixian", "sx-civil")["created"] == 4
    opened = reports.submit_report(
        make_report(**{"child.name": "张小雨", "child.id_number": ZHANG_ID, "child.birth_date": "2015-03-08"}),
        "sx-intake",
    )
    with db.engine().begin() as conn:  # each covered, each visited last quarter
        for jurisdiction, township, n in (("sixian", "sx-t-cg", SIXIAN), ("yantai", "yt-t-x", YANTAI)):
            conn.execute(
                text(
                    "INSERT INTO child (id, jurisdiction, name, birth_date, gender, township, village, "
                    "left_behind, created_at, enrolled_from) SELECT gen_random_uuid(), :j, '儿童' || i, "
                    "date '2012-01-01' + i % 3000, 'female', :t, NULL, false, now(), 'import' "
                    "FROM generate_series(1, :n) AS i"
                ),
                {"j": jurisdiction, "t": township, "n": n},
            )
        conn.execute(
            text(
                "INSERT INTO childcategory (id, child_id, category, started_on, source, created_at) "
                "SELECT gen_random_uuid(), id, 'left_behind', date '2026-01-01', 'import', now() "
                "FROM child WHERE name LIKE '儿童%'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO verificationvisit (id, jurisdiction, child_id, unit, period, due_at, status, outcome, "
                "created_at) SELECT gen_random_uuid(), jurisdiction, id, township, '2026Q3', now(), 'done', '{}', "
                "now() FROM child WHERE name LIKE '儿童%'"
            )
        )
    with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return {"case_no": opened["case_no"]}


def statements_of(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements `call` sends (SELECT, INSERT … SELECT, UPDATE), with their parameters."""
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "WITH")):
            sent.append((statement, parameters))

    engine = db.engine()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return sent


def rows_read(plan: dict[str, Any]) -> list[tuple[str, int]]:
    """(node, rows) for each node of an EXPLAIN ANALYZE plan that reads a watched table: the rows it
    returned and those its filter threw away, over all its loops."""
    found = []
    if plan.get("Relation Name") in WATCHED:
        per_loop = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        per_loop += plan.get("Rows Removed by Index Recheck", 0)
        found.append((f"{plan['Node Type']} on {plan['Relation Name']}", per_loop * plan.get("Actual Loops", 1)))
    for child in plan.get("Plans", []):
        found += rows_read(child)
    return found


def most_read(call: Callable[[], Any]) -> int:
    """Run `call`, then each watched statement it sent again under EXPLAIN ANALYZE (rolled back):
    the most rows any one node of any of them read."""
    sent = [(q, p) for q, p in statements_of(call) if any(name in q for name in WATCHED)]
    assert sent, "the call sent no statement about children or visits"
    most = 0
    with Session(db.engine()) as s:
        conn = s.connection().connection.dbapi_connection
        assert conn is not None
        with conn.cursor() as cursor:
            for statement, parameters in sent:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                for node, rows in rows_read(plan[0]["Plan"]):
                    most = max(most, rows)
                    print(f"{rows:>8} {node} — {' '.join(statement.split())[:300]}")
        s.rollback()
    return most


def test_a_search_for_one_child_reads_a_few_rows(two_large_counties: dict[str, Any]) -> None:
    assert most_read(lambda: children.search_children(ZHANG_ID, "sx-civil")) <= 20
    assert most_read(lambda: children.search_children(two_large_counties["case_no"], "sx-civil")) <= 20


def test_the_village_page_reads_its_village(two_large_counties: dict[str, Any]) -> None:
    assert rounds.start_due_rounds(clock.now().date())["verification_visits"] >= SIXIAN + YANTAI
    with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    assert most_read(lambda: visits.visit_sheet("sx-director-dg", "sx-v-sc-dg")) <= 50


def test_a_countys_round_reads_its_county(two_large_counties: dict[str, Any]) -> None:
    day = clock.now().date()

    def round_of_sixian() -> None:
        with db.transaction() as s:
            childfile.cancel_uncovered_visits(s, "sixian", day)
            rounds.generate_verification_round(s, "sixian", day)

    assert most_read(round_of_sixian) <= SIXIAN * 1.1  # yantai's 50,000 are never read


def test_a_countys_month_reads_its_county(two_large_counties: dict[str, Any]) -> None:
    rounds.start_due_rounds(clock.now().date())
    with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    month = clock.now().strftime("%Y-%m")
    assert most_read(lambda: monthly.monthly("sixian", month)) <= SIXIAN * 1.1  # yantai's 50,000 are never read
