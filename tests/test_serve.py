"""`shouhu serve` as a real process: web app, a local Prefect server with its UI, the scheduled
sweeper, case flows visible in Prefect tagged by case number; Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import make_report
from receivers import free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def test_serve_runs_web_prefect_and_scheduler_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    web, prefect = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"SHOUHU_HOME": str(tmp_path), "SHOUHU_NOW": "2026-11-24T09:00:00+08:00", "PYTHONPATH": str(ROOT)})
    env.pop("SHOUHU_DATABASE_URL", None)
    env.pop("SHOUHU_BASE_URL", None)  # message links: the address this serve serves on (not 8000)
    subprocess.run(
        [sys.executable, "-m", "cli", "init", "--demo", "--json"], cwd=ROOT, env=env, capture_output=True, check=True
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(web), "--prefect-port", str(prefect), "--every", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{web}/healthz", proc)
        assert "<html" in httpx.get(f"http://127.0.0.1:{prefect}/", timeout=10).text.lower()  # Prefect's UI
        token = json.loads(
            subprocess.run(
                [sys.executable, "-m", "cli", "user", "token", "create", "sx-intake", "--name", "t", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )["token"]
        created = httpx.post(
            f"http://127.0.0.1:{web}/api/v1/reports",
            json=make_report(),
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        case_no = created.json()["case_no"]
        api = f"http://127.0.0.1:{prefect}/api"
        runs = httpx.post(
            f"{api}/flow_runs/filter", json={"flow_runs": {"tags": {"all_": [case_no]}}}, timeout=10
        ).json()
        assert [r["state_type"] for r in runs] == ["COMPLETED"]
        deadline = time.monotonic() + 60
        flows: set[str] = set()
        while not {"sweeper", "dispatcher"} <= flows and time.monotonic() < deadline:
            flows = {f["name"] for f in httpx.post(f"{api}/flows/filter", json={}, timeout=10).json()}
            time.sleep(1)
        assert {"intake", "sweeper", "dispatcher"} <= flows

        # the CLI of the same home finds this serve and runs its flows on serve's Prefect server
        def cli(*args: str, stdin: str | None = None, code: int = 0) -> dict:
            done = subprocess.run(
                [sys.executable, "-m", "cli", *args, "--json"],
                cwd=ROOT,
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == code, done.stdout + done.stderr[-1000:]
            return json.loads(done.stdout.strip().splitlines()[-1])

        status = cli("status")
        assert status["serve"]["pid"] == proc.pid and status["serve"]["web_answers"] is True
        assert status["prefect"] == {"api_url": api, "from": "serve", "answers": True}
        # same database and clock: the command is handed to serve (no Prefect in the CLI), answers as the CLI's own
        started = time.monotonic()
        by_cli = cli("report", "-", "--as", "sx-intake", stdin=json.dumps(make_report(), ensure_ascii=False))
        print(f"report through the CLI, handed to serve: {time.monotonic() - started:.2f} s")
        assert by_cli["status"] == "applied" and by_cli["stage"] == "emergency"
        runs = httpx.post(
            f"{api}/flow_runs/filter", json={"flow_runs": {"tags": {"all_": [by_cli["case_no"]]}}}, timeout=10
        ).json()
        assert [r["state_type"] for r in runs] == ["COMPLETED"]
        case = cli("case", "show", by_cli["case_no"], "--as", "sx-police")
        arrival = next(x for x in case["tasks"] if x["kind"] == "police_arrival")
        assert cli("task", "ack", arrival["task_id"], "--as", "sx-police")["case_no"] == by_cli["case_no"]
        assert cli("task", "ack", arrival["task_id"], "--as", "sx-police", code=3)["error"]["code"] == "task_not_open"
        bad = cli(
            "report", "-", "--as", "sx-intake", stdin=json.dumps({**make_report(), "situations": ["flood"]}), code=2
        )
        assert bad["error"]["field"].startswith("situations")
        assert cli("report", "-", stdin=json.dumps(make_report()), code=2)["error"]["code"] == "missing_user"
        # another clock: run here, but on serve's Prefect server (no ephemeral server of its own)
        env["SHOUHU_NOW"] = "2026-11-24T09:05:00+08:00"
        started = time.monotonic()
        here = cli("report", "-", "--as", "sx-intake", stdin=json.dumps(make_report(), ensure_ascii=False))
        print(f"report through the CLI, run here on serve's Prefect: {time.monotonic() - started:.2f} s")
        runs = httpx.post(
            f"{api}/flow_runs/filter", json={"flow_runs": {"tags": {"all_": [here["case_no"]]}}}, timeout=10
        ).json()
        assert [r["state_type"] for r in runs] == ["COMPLETED"], "the CLI's own flow run is on serve's Prefect server"
        env["SHOUHU_NOW"] = "2026-11-24T09:00:00+08:00"
        handed = handovers(tmp_path)
        assert handed.count(("sx-intake", "cli_handover")) == 2 and handed.count(("sx-police", "cli_handover")) == 2
        assert len(handed) == 4, (
            "the report run here was not handed over; refusals before a user is named are not either"
        )
        # every message links to this serve's port: those its own flows queued, and those of the flow run in the
        # CLI's process (which read the address serve recorded in the database)
        assert status["links"] == {"base": f"http://127.0.0.1:{web}", "from": "serve"} and status["serve"]["links"] == (
            f"http://127.0.0.1:{web}"
        )
        links = [link for m in cli("inbox", "--unit", "sx-pcs-sc") for link in re.findall(r"https?://\S+", m["body"])]
        assert links and all(link.startswith(f"http://127.0.0.1:{web}/") for link in links), links
        assert {f"http://127.0.0.1:{web}/cases/{no}" for no in (case_no, by_cli["case_no"], here["case_no"])} <= set(
            links
        )
        second = cli("serve", "--port", str(free_port()), "--prefect-port", str(free_port()), "--every", "0", code=2)
        assert second["error"]["code"] == "serve_running"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert code == 0
    assert f"消息中的链接指向：http://127.0.0.1:{web}" in (proc.stdout.read() if proc.stdout else "")
    gone = json.loads(
        subprocess.run(
            [sys.executable, "-m", "cli", "status", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert gone["serve"] is None and gone["prefect"]["from"] == "ephemeral" and not (tmp_path / "serve.json").exists()
    time.sleep(1)
    try:
        httpx.get(f"http://127.0.0.1:{prefect}/api/health", timeout=2)
        raise AssertionError("the Prefect server is still up after Ctrl-C")
    except httpx.HTTPError:
        pass


def handovers(home: Path) -> list[tuple[str, str]]:
    """Commands this machine's CLI handed to serve, as recorded (who, what)."""
    import sqlite3

    with sqlite3.connect(home / "shouhu.db") as conn:
        return conn.execute("SELECT actor, action FROM accessrecord WHERE action = 'cli_handover'").fetchall()


def port_answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
        return True
    except httpx.HTTPError:
        return False


def test_a_killed_serve_takes_its_prefect_server_with_it_and_a_stale_one_is_reported(tmp_path: Path) -> None:
    web, prefect = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"SHOUHU_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)})
    env.pop("SHOUHU_DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "cli",
        "serve",
        "--port",
        str(web),
        "--prefect-port",
        str(prefect),
        "--every",
        "0",
        "--json",
    ]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        wait_for(f"http://127.0.0.1:{web}/healthz", proc)
        assert port_answers(prefect)
        proc.send_signal(signal.SIGKILL)  # no Ctrl-C, no finally: the watchdog must end the Prefect server
        proc.wait()
        deadline = time.monotonic() + 30
        while port_answers(prefect) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not port_answers(prefect), "the Prefect server outlived a killed `shouhu serve`"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)

    # a Prefect server someone left on the port: reported by name, not mistaken for ours
    stale = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(prefect)],
        env={**env, "PREFECT_HOME": str(tmp_path / "stale")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not port_answers(prefect) and time.monotonic() < deadline:
            time.sleep(0.5)
        refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2, refused.stdout + refused.stderr[-500:]
        error = json.loads(refused.stdout.strip().splitlines()[-1])["error"]
        assert (
            error["code"] == "port_in_use" and error["field"] == "prefect-port" and "Prefect server" in error["message"]
        )
    finally:
        os.killpg(stale.pid, signal.SIGTERM)
        stale.wait(timeout=30)


def test_a_serve_on_every_interface_links_by_the_machines_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The address message links start with, for a serve without SHOUHU_BASE_URL: the one it binds; bound to
    every interface, the machine's name (people on other machines open the links), 127.0.0.1 if it has none."""
    import socket

    from cli.serve import web_address

    assert web_address("127.0.0.1", 8200) == "http://127.0.0.1:8200"
    assert web_address("10.12.0.7", 8200) == "http://10.12.0.7:8200"
    assert web_address("::1", 8200) == "http://[::1]:8200"
    monkeypatch.setattr(socket, "gethostname", lambda: "mz-shouhu-01")
    assert web_address("0.0.0.0", 8200) == web_address("::", 8200) == "http://mz-shouhu-01:8200"
    monkeypatch.setattr(socket, "gethostname", lambda: "localhost")
    assert web_address("0.0.0.0", 8200) == "http://127.0.0.1:8200"
