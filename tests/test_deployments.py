"""prefect.yaml declares a deployment per stage flow, and every entrypoint is a real flow."""
from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parent.parent


def test_every_deployment_entrypoint_is_a_flow() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    names = set()
    for deployment in spec["deployments"]:
        path, _, attr = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        assert isinstance(flow, Flow), deployment["entrypoint"]
        names.add(flow.name)
    assert {"intake", "emergency", "assessment", "intervention", "sweeper", "dispatcher"} <= names
