"""prefect.yaml deploys exactly the scheduled work (the sweeper and the dispatcher, every minute),
and every entrypoint is a real flow. The report and task-completion flows run in the web process
(`shouhu serve`), so they are not deployed; tests/test_topology.py runs these deployments on workers."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parent.parent


def test_the_deployments_are_the_scheduled_flows() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    names = {}
    for deployment in spec["deployments"]:
        path, _, attr = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        assert isinstance(flow, Flow), deployment["entrypoint"]
        assert deployment["work_pool"]["name"] == "shouhu"
        names[flow.name] = [s["interval"] for s in deployment.get("schedules", [])]
    assert names == {"sweeper": [60], "dispatcher": [60]}
