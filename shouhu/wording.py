"""Words people read that more than one floor writes: a task's name, a due time."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from shouhu.policy import Pack
from shouhu.vocab import TaskKind


def task_title(p: Pack, kind: str, subject: str | None) -> str:
    """A task as people name it: 出警调查…, 服务转介：心理疏导, 回访（1/3）."""
    if kind == "service":
        return f"服务转介：{p.services[subject].title}" if subject in p.services else "服务转介"
    if kind == "follow_up_visit":
        return f"回访（{subject}）"
    if kind == "holiday_patrol":
        return f"{subject}：重点对象随访"
    return p.tasks[cast(TaskKind, kind)].title


def format_due(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")
