"""`shouhu serve`: the web app, and in embedded mode a local Prefect server (its UI shows the case
flows, tagged by case number) plus the sweeper and dispatcher every minute. Ctrl-C stops all.

Without PREFECT_API_URL a Prefect server is started as a child process on 127.0.0.1 and every
flow run of this process (web requests, sweeper, dispatcher) goes to it; with PREFECT_API_URL
set (production), that server is used and nothing is started. Scheduled work in production is
the `prefect.yaml` deployments instead: `--every 0` turns the in-process loop off.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from shouhu import config, running
from shouhu.errors import InvalidInput

log = logging.getLogger("cli.serve")


class PrefectChild:
    """The embedded Prefect server: its own process group, watched so that it dies with us even
    when we are killed with SIGKILL (cli.watchdog), and restarted if it dies on its own."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.watchdog: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> None:
        running.prepare_prefect_environment()
        env = {
            **os.environ,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_UI_API_URL": f"http://127.0.0.1:{self.port}/api",
        }
        env.pop("PREFECT_API_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.watchdog = subprocess.Popen(
            [sys.executable, "-m", "cli.watchdog", str(self.proc.pid)],
            stdin=subprocess.PIPE,
            start_new_session=True,
            cwd=config.PROJECT_ROOT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                said = self.proc.stderr.read() if self.proc.stderr else b""
                raise RuntimeError(f"the Prefect server exited at start: {said.decode(errors='replace')[-500:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the Prefect server did not answer on port {self.port} within {timeout:.0f} s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        if self.watchdog is not None and self.watchdog.stdin is not None:
            self.watchdog.stdin.close()  # the watchdog ends the group, if anything of it is left
            try:
                self.watchdog.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.watchdog.kill()


def start_prefect_server(port: int, timeout: float = 180.0) -> PrefectChild:
    """`prefect server start` on 127.0.0.1:port, waited for; its UI is at the same address."""
    child = PrefectChild(port)
    child.start(timeout)
    return child


def check_port_free(port: int, option: str, host: str = "127.0.0.1") -> None:
    """Refuse to start on a port something already holds — in particular a Prefect server left
    running by an earlier `shouhu serve` — instead of talking to it as if it were ours."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or "0.0.0.0", port))  # noqa: S104 - a probe of the address the server will bind, closed at once
            return
        except OSError:
            pass
    try:
        stale = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        stale = False
    what = (
        "a Prefect server (perhaps left by an earlier `shouhu serve`: stop it, e.g. `pkill -f 'prefect server start'`)"
        if stale
        else "another program"
    )
    raise InvalidInput(
        "port_in_use",
        f"port {port} is already in use by {what}; stop it or choose another {option}",
        option.lstrip("-"),
    )


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def scheduler(every: float, stop: threading.Event, prefect: PrefectChild | None = None) -> threading.Thread:
    """The sweeper (which also dispatches and resumes queued commands) and the dispatcher's
    retries, every `every` seconds. An embedded Prefect server that died is started again; until
    it answers, both run in this process (services.deadlines.sweep)."""
    from services import deadlines, messages

    def loop() -> None:
        while not stop.is_set():
            started = time.monotonic()
            if prefect is not None and not prefect.alive():
                log.warning("the embedded Prefect server stopped; starting it again")
                try:
                    prefect.stop()
                    prefect.start()
                except Exception:  # the jobs run in-process meanwhile; try again next round
                    log.exception("the embedded Prefect server did not start; trying again in %.0f s", every)
            for name, job in (("sweeper", deadlines.sweep), ("dispatcher", messages.dispatch_now)):
                try:
                    job()
                except Exception:  # a failed tick is logged; the next one tries again
                    log.exception("%s run failed; next in %.0f s", name, every)
            stop.wait(max(0.0, every - (time.monotonic() - started)))

    thread = threading.Thread(target=loop, name="shouhu-scheduler", daemon=True)
    thread.start()
    return thread


ALL_INTERFACES = ("0.0.0.0", "", "::")  # noqa: S104 - compared with, never bound


def web_address(host: str, port: int) -> str:
    """The address people reach this serve at, for the links in messages (when SHOUHU_BASE_URL is not
    set): the address it binds; bound to every interface, this machine's name, since the messages go to
    people on other machines (127.0.0.1 if the machine has no name but localhost)."""
    if host in ALL_INTERFACES:
        name = socket.gethostname()
        host = name if name and not name.lower().startswith("localhost") else "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(host: str, port: int, prefect_port: int, every: float) -> dict[str, Any]:
    import uvicorn

    from services import messages, setup

    messages.check_routing()  # a broken routing file stops us here, naming the unit
    setup.init()
    live = running.serve_record()
    if live is not None:
        raise InvalidInput(
            "serve_running",
            f"a shouhu serve of this SHOUHU_HOME already runs (pid {live['pid']}, {live.get('web')}); "
            "stop it, or give this one its own SHOUHU_HOME",
            "SHOUHU_HOME",
        )
    check_port_free(port, "--port", host)
    prefect = None
    if not os.environ.get("PREFECT_API_URL"):
        check_port_free(prefect_port, "--prefect-port")
        prefect = start_prefect_server(prefect_port)
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{prefect_port}/api"
        print(f"Prefect server and UI: http://127.0.0.1:{prefect_port}", flush=True)
    # recorded once this serve is sure to start, before any flow of ours queues a message:
    links = messages.record_web_address(web_address(host, port))
    stop = threading.Event()
    worker = scheduler(every, stop, prefect) if every > 0 else None
    print(f"Shouhu web app: http://{host}:{port}  (API: /api/v1, OpenAPI: /api/v1/openapi.json)", flush=True)
    print(f"消息中的链接指向：{links['base']}（可用 SHOUHU_BASE_URL 另行设定）", flush=True)
    web_host = "127.0.0.1" if host in ALL_INTERFACES else host  # the address to reach, not to bind
    running.write(
        {
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "web": f"http://{web_host}:{port}",
            "links": links["base"],
            "prefect_api": os.environ["PREFECT_API_URL"],
            "prefect_embedded": prefect is not None,
            "every": every,
            # the CLI of this home hands reports and outcomes to this process when it would do the same:
            "database": running.database_fingerprint(config.database_url()),
            "now": os.environ.get("SHOUHU_NOW") or None,
            "operator_key": running.new_operator_key(),
        }
    )
    try:
        # Behind a reverse proxy, X-Forwarded-For from SHOUHU_TRUSTED_PROXIES (default: this machine)
        # gives the real client address, which sign-in throttling counts by.
        uvicorn.run(
            "web.app:app",
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=True,
            forwarded_allow_ips=config.settings().trusted_proxies,
        )
    finally:
        running.clear(os.getpid())
        stop.set()
        if worker is not None:
            worker.join(timeout=30)
        if prefect is not None:
            prefect.stop()
    return {"ok": True, "stopped": True}
