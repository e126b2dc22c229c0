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
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from shouhu import config

log = logging.getLogger("shouhu.serve")


def start_prefect_server(port: int, timeout: float = 180.0) -> subprocess.Popen:
    """`prefect server start` on 127.0.0.1:port, waited for; its UI is at the same address."""
    config.prepare_prefect_environment()
    env = {**os.environ, "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
           "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Prefect server exited at start: {proc.stderr.read().decode(errors='replace')[-500:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_process(proc)
    raise RuntimeError(f"the Prefect server did not answer on port {port} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def scheduler(every: float, stop: threading.Event) -> threading.Thread:
    """The sweeper (which also dispatches) and the dispatcher's retries, every `every` seconds."""
    from shouhu import service

    def loop() -> None:
        while not stop.is_set():
            started = time.monotonic()
            for name, job in (("sweeper", service.sweep), ("dispatcher", service.dispatch_now)):
                try:
                    job()
                except Exception:  # noqa: BLE001 - a failed tick is logged; the next one tries again
                    log.exception("%s run failed; next in %.0f s", name, every)
            stop.wait(max(0.0, every - (time.monotonic() - started)))

    thread = threading.Thread(target=loop, name="shouhu-scheduler", daemon=True)
    thread.start()
    return thread


def serve(host: str, port: int, prefect_port: int, every: float) -> dict[str, Any]:
    import uvicorn

    from notifications import routing
    from shouhu import service

    routing.load()  # a broken routing file stops us here, naming the unit
    service.init()
    prefect = None
    if not os.environ.get("PREFECT_API_URL"):
        prefect = start_prefect_server(prefect_port)
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{prefect_port}/api"
        print(f"Prefect server and UI: http://127.0.0.1:{prefect_port}", flush=True)
    stop = threading.Event()
    worker = scheduler(every, stop) if every > 0 else None
    print(f"Shouhu web app: http://{host}:{port}  (API: /api/v1, OpenAPI: /api/v1/openapi.json)", flush=True)
    try:
        uvicorn.run("web.app:app", host=host, port=port, log_level="warning")
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=30)
        if prefect is not None:
            stop_process(prefect)
    return {"ok": True, "stopped": True}
