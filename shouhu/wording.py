"""Words people read that more than one floor writes: a task's name, a moment, what a read was of."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import cast

from shouhu.clock import CHINA_TZ
from shouhu.policy import Pack
from shouhu.vocab import DOCUMENT_NAMES_ZH, READ_NAMES_ZH, TaskKind


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
    return format_time(at)


def format_time(at: datetime | str | None) -> str:
    """A moment as people read it: Beijing time to the minute, 2026-11-24 09:00 — never ISO's T,
    seconds, their fractions or an offset (JSON keeps those)."""
    if at is None or at == "":
        return "—"
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_TZ)
    return moment.strftime("%Y-%m-%d %H:%M")


def read_name(what: str) -> str:
    """What a recorded read was of (`case_read`'s `view`): 案件详情, 文书《结案报告》."""
    if what.startswith("document:"):
        return "文书《" + DOCUMENT_NAMES_ZH.get(what.split(":", 1)[1], "文书") + "》"
    if what.startswith("attachment:"):
        return "附件"
    return READ_NAMES_ZH.get(what, "案卷")


def event_summary(kind: str, summary: str) -> str:
    """A timeline line as people read it. Reads recorded before their summaries were worded
    (查阅案卷：timeline) are named now; the stored, hashed line is unchanged."""
    if kind == "case_read" and (old := re.fullmatch(r"查阅案卷：([a-z_]+(?::[a-z_]+)?)", summary)):
        return f"查阅案卷：{read_name(old.group(1))}"
    return summary


def span(length: timedelta) -> str:
    """A length of time in whole units, cut down (never rounded up): 不到1分钟, 45分钟, 2小时15分, 2小时,
    3天, 1天5小时."""
    seconds = int(abs(length).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{minutes}分钟" if minutes else "不到1分钟"


def time_left(due: datetime, at: datetime) -> str:
    """How long until `due` as of `at`: 剩余 2小时15分, 剩余 3天 — or how late it is: 已逾期 1小时20分.
    Exactly at the deadline it is 已到期 (late starts the moment after, as the deadline clocks count)."""
    if due == at:
        return "已到期"
    return f"剩余 {span(due - at)}" if due > at else f"已逾期 {span(at - due)}"


def seconds_left(due: datetime, at: datetime) -> int:
    """Whole seconds until `due` (negative once late) — what JSON carries instead of the words."""
    return math.floor((due - at).total_seconds())
