"""Issue 16 §2–3 through the CLI contract, as a real subprocess: one JSON document, the exit codes
(0 done, 2 invalid or not permitted, 3 the case moved on)."""

from __future__ import annotations

from typing import Any

from conftest import make_report


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
