"""Issue 16 §2–3 through the CLI contract, as a real subprocess: one JSON document, the exit codes
(0 done, 2 invalid or not permitted, 3 the case moved on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import make_report

SHOUHU = [sys.executable, "-m", "cli"]


@pytest.fixture
def cli(database_url: str, prefect_server: str, tmp_path: Path) -> Any:
    env = {
        **os.environ,
        "SHOUHU_DATABASE_URL": database_url,
        "SHOUHU_HOME": str(tmp_path),
        "PREFECT_API_URL": prefect_server,
        "SHOUHU_NOW": "2026-11-24T09:00:00+08:00",
    }
    env.pop("SHOUHU_USER", None)

    def run(*args: str, stdin: Any = None, code: int = 0) -> Any:
        proc = subprocess.run(
            SHOUHU + list(args) + ["--json"],
            input=json.dumps(stdin, ensure_ascii=False) if stdin is not None else None,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-2000:])
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stdout
        return json.loads(lines[0])

    return run


def test_correct_claim_assign_transfer_accept_from_the_command_line(cli: Any) -> None:
    case = cli("report", "-", "--as", "sx-intake", stdin=make_report())
    no = case["case_no"]
    wrong = cli(
        "case",
        "correct",
        no,
        "-",
        "--as",
        "sx-civil",
        stdin={"field": "child.name", "value": "", "reason": "x"},
        code=2,
    )
    assert wrong["error"]["field"] == "child.name"
    done = cli(
        "case",
        "correct",
        no,
        "-",
        "--as",
        "sx-civil",
        stdin={"field": "child.name", "value": "更正名", "reason": "错字"},
    )
    assert done["child"]["name"] == "更正名"
    task = next(t for t in done["tasks"] if t["kind"] == "emergency_response")
    assert cli("task", "claim", task["task_id"], "--as", "sx-police")["tasks"]
    refused = cli("task", "assign", task["task_id"], "--to", "sx-intake", "--as", "sx-police", code=2)
    assert refused["error"]["code"] == "not_in_unit"  # police_intake does not do the police's response
    assert cli("case", "transfer", no, "--as", "sx-civil", code=2)["error"]["field"] == "to"
    sent = cli("case", "transfer", no, "--to", "yantai", "--reason", "迁居", "--as", "sx-civil")
    assert sent["transfer_to"] == "yantai"
    again = cli("case", "transfer", no, "--to", "wuhai", "--reason", "迁居", "--as", "sx-civil", code=3)
    assert again["error"]["code"] == "transfer_pending"
    assert (
        cli("case", "accept", no, "--township", "sx-t-sc", "--as", "yt-civil", code=2)["error"]["field"] == "township"
    )
    accepted = cli("case", "accept", no, "--township", "yt-t-mq", "--as", "yt-civil")
    assert (accepted["jurisdiction"], accepted["township"]) == ("yantai", "yt-t-mq")
    assert (
        cli("case", "accept", no, "--township", "yt-t-mq", "--as", "yt-civil", code=3)["error"]["code"] == "no_transfer"
    )
