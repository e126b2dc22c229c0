"""The closed vocabularies of the CLI contract, and the one Chinese vocabulary people read for them.

Codes stay in JSON, the API and the CLI; every page, document, message and download names them here
(`named`, and the tables below), so no reader ever sees a code, an English status or a raw flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

UnitType = Literal[
    "coordination_office",
    "civil_affairs",
    "rescue_station",
    "welfare_institution",
    "police_bureau",
    "police_station",
    "education_bureau",
    "health_bureau",
    "court",
    "township",
    "village",
]
Role = Literal[
    "police_intake",
    "police",
    "township_caseworker",
    "village_director",
    "civil_affairs",
    "manager",
    "admin",
]
ReporterUnitType = Literal[
    "school",
    "kindergarten",
    "medical",
    "village_committee",
    "residents_committee",
    "social_work",
    "rescue_station",
    "welfare_institution",
    "police",
    "citizen",
    "other",
]
Situation = Literal[
    "living_alone",
    "missing",
    "guardianship_absent",
    "guardian_incapable",
    "guardian_neglect",
    "domestic_violence",
    "accidental_injury",
    "unlawful_harm",
    "abandonment",
    "sexual_harm",
    "parent_detained",
]
Measure = Literal[
    "admonish_guardian",
    "warning_letter",
    "entrusted_care",
    "temporary_care",
    "missing_search",
    "shelter_escort",
    "stop_harm",
    "criminal_case",
    "written_handover",
    "medical_treatment",
    "urgent_removal",
]
Service = Literal[
    "guardianship_guidance",
    "emergency_shelter",
    "medical_treatment",
    "psychological_counseling",
    "behavior_correction",
    "social_assistance",
    "social_welfare",
    "legal_aid",
    "education_support",
]
Stage = Literal["emergency", "assessment", "intervention", "closed"]
TaskKind = Literal[
    "police_arrival",
    "emergency_response",
    "temporary_care",
    "assessment",
    "service",
    "follow_up_visit",
    "final_review",
    "guardian_measures",
    "temporary_guardianship",
    "court_petition",
    "court_ruling",
    "placement",
    "warning_letter_visit",
    "holiday_patrol",
]
# Who a rule points at, resolved against the case's township (see shouhu/units.py).
Selector = Literal[
    "station",
    "police_bureau",
    "township",
    "village",
    "civil_affairs",
    "rescue_station",
    "coordination_office",
    "education_bureau",
    "health_bureau",
    "court",
    "reporter_supervisor",
]
RiskLevel = Literal["low", "medium", "high"]

# The step whose flow applies a task's outcome (a task may open in another stage: sixian's
# temporary guardianship in the emergency step). The final review belongs to the stage it opened in.
STEP_OF_TASK = {
    "police_arrival": "emergency",
    "emergency_response": "emergency",
    "temporary_care": "emergency",
    "warning_letter_visit": "emergency",
    "assessment": "assessment",
    "service": "assessment",
    "follow_up_visit": "assessment",
    "holiday_patrol": "assessment",
    "guardian_measures": "intervention",
    "temporary_guardianship": "intervention",
    "court_petition": "intervention",
    "court_ruling": "intervention",
    "placement": "intervention",
}

# How timeline events and notifications are named to people (codes stay in JSON for scripts).
EVENT_NAMES_ZH = {
    "case_note": "工作记录",
    "attachment_added": "添加附件",
    "case_opened": "受理立案",
    "report_attached": "新报告并案",
    "linked_case": "关联外地案件",
    "late_report": "迟报提示",
    "task_opened": "派发任务",
    "task_completed": "完成任务",
    "task_cancelled": "取消任务",
    "notification_queued": "发出通知",
    "measure_taken": "应急措施",
    "stage_changed": "阶段变更",
    "assessment_recorded": "评估结论",
    "visit_concern": "回访发现问题",
    "temporary_care_arranged": "临时照料",
    "guardian_measures": "监护人处置",
    "temporary_guardianship": "临时监护",
    "court_petition_filed": "申请撤销监护",
    "court_petition_not_filed": "不申请撤销",
    "court_ruling": "法院裁定",
    "placement": "安置",
    "case_closed": "结案",
    "case_read": "查阅案卷",
    "calendar_fallback": "日历提示",
    "watch_started": "开始监测",
    "petition_ground_available": "事由成立提示",
    "deadline_reminder": "到期提醒",
    "deadline_escalated": "逾期升级",
    "phase_out_ended": "渐退期满",
    "petition_opened": "启动撤销监护申请",
    "verification_overdue": "核实走访逾期",
    "verification_concern": "核实发现问题",
    "serious_harm_recorded": "记录严重损害",
    "sealed_at_upgrade": "升级加封",
    # notification events
    "township_notice": "通报乡镇",
    "intervention_opened": "监护干预告知",
    "measure": "应急协助",
    "reminder": "到期提醒",
    "escalation": "逾期升级",
    "refusal_watch": "拒不履责提示",
    "reporter_feedback": "告知报告人",
    "delivery_failed": "消息未送达",
    "delivery_attempt": "消息发送",
    "document_issued": "生成文书",
    "daily_digest": "每日汇总",
    "tamper_detected": "发现数据被改动",
    "timeline_anchor": "时间线锚点",
    "command_failed": "待处理事项未能处理",
    # hand-overs and corrections (issue 16 §2–3)
    "case_corrected": "更正案件信息",
    "task_moved": "任务移交",
    "task_assigned": "指定经办人",
    "task_claimed": "认领任务",
    "case_transfer_requested": "申请移交外县",
    "case_transfer_cancelled": "撤回移交",
    "case_transfer_refused": "拒绝接收",
    "case_transferred": "移交外县完成",
    "case_left": "案件移出",
    "case_arrived": "案件移入",
    "transfer_requested": "外县移交",
    "transfer_cancelled": "移交撤回",
    "reported_elsewhere": "外县报告",
    # one child, one file; retention (issue 16 §5–6)
    "child_merged": "儿童档案合并",
    "child_unmerged": "撤销档案合并",
    "identity_removed": "删除儿童身份信息",
    "document_redacted": "文书去除身份信息",
    # approvals and reopening (issue 16)
    "approval_requested": "提请审批",
    "approval_granted": "审批同意",
    "approval_refused": "审批不同意",
    "case_reopened": "重新办理",
}
APPROVAL_KINDS_ZH = {"closure": "结案", "unfounded": "报告不属实的认定", "reopen": "重新办理已结案件"}
APPROVAL_STATUS_ZH = {"pending": "待审批", "approved": "已同意", "refused": "不同意"}

STAGE_NAMES_ZH = {
    "emergency": "应急处置",
    "assessment": "评估帮扶",
    "intervention": "监护干预",
    "closed": "已结案",
}
SITUATION_NAMES_ZH = {
    "living_alone": "独自居住",
    "missing": "失踪",
    "guardianship_absent": "监护缺失",
    "guardian_incapable": "监护人无监护能力",
    "guardian_neglect": "监护人疏于照料",
    "domestic_violence": "家庭暴力",
    "accidental_injury": "意外伤害",
    "unlawful_harm": "不法侵害",
    "abandonment": "遗弃",
    "sexual_harm": "性侵害",
    "parent_detained": "父母被羁押",
}

# A guardian's relation and status are free text (a form may type 母亲); the API's usual codes read as:
RELATION_NAMES_ZH = {
    "mother": "母亲",
    "father": "父亲",
    "grandmother": "祖母（外祖母）",
    "grandfather": "祖父（外祖父）",
    "paternal_grandmother": "祖母",
    "paternal_grandfather": "祖父",
    "maternal_grandmother": "外祖母",
    "maternal_grandfather": "外祖父",
    "aunt": "姑母（姨母）",
    "uncle": "伯叔（舅父）",
    "sibling": "兄姐",
    "relative": "其他亲属",
    "stepmother": "继母",
    "stepfather": "继父",
    "adoptive_parent": "养父母",
    "guardian": "监护人",
}
GUARDIAN_STATUS_ZH = {
    "working_away": "外出务工",
    "at_home": "在家",
    "present": "在家",
    "detained": "被羁押",
    "in_prison": "服刑",
    "in_rehab": "强制隔离戒毒",
    "elderly": "年老体弱",
    "remarried": "再婚",
    "unemployed": "无业",
    "unknown": "不详",
    "deceased": "已故",
    "missing": "下落不明",
    "ill": "患病",
    "disabled": "残疾",
    "incapable": "无监护能力",
    "divorced": "离异",
}

# The report form offers closed lists (the API still takes free text, so a record made elsewhere
# keeps its words): how the report came in, stored as these words; a guardian's relation and
# situation, stored as the codes above.
REPORT_CHANNELS = ("110接警", "电话报警", "来访报告", "书面报告", "现场发现", "网络报告", "其他方式")
FORM_RELATIONS = (
    "mother",
    "father",
    "paternal_grandfather",
    "paternal_grandmother",
    "maternal_grandfather",
    "maternal_grandmother",
    "uncle",
    "aunt",
    "sibling",
    "stepmother",
    "stepfather",
    "adoptive_parent",
    "relative",
)
FORM_GUARDIAN_STATUSES = (
    "at_home",
    "working_away",
    "detained",
    "in_prison",
    "in_rehab",
    "ill",
    "disabled",
    "elderly",
    "incapable",
    "remarried",
    "divorced",
    "unemployed",
    "missing",
    "deceased",
    "unknown",
)

# What people read for each code of a closed vocabulary (forms, timeline summaries).
LABELS_ZH: dict[str, str] = {
    **RELATION_NAMES_ZH,
    **GUARDIAN_STATUS_ZH,
    **SITUATION_NAMES_ZH,
    "admonish_guardian": "训诫教育监护人",
    "warning_letter": "出具告诫书",
    "entrusted_care": "落实委托照护",
    "temporary_care": "救助保护机构临时照料",
    "missing_search": "启动失踪儿童快速查找",
    "shelter_escort": "护送至临时庇护场所",
    "stop_harm": "制止侵害",
    "criminal_case": "立案侦查",
    "written_handover": "书面交接",
    "medical_treatment": "送医救治",
    "urgent_removal": "紧急带离（短期内无人可代为照料）",
    "safe": "安全",
    "at_risk": "存在风险",
    "in_danger": "处于危险",
    "adequate": "监护到位",
    "inadequate": "监护不到位",
    "absent": "监护缺失",
    "harmful": "监护侵害",
    "low": "低",
    "medium": "中",
    "high": "高",
    "guardianship_guidance": "监护指导",
    "emergency_shelter": "紧急庇护",
    "psychological_counseling": "心理疏导",
    "behavior_correction": "行为矫治",
    "social_assistance": "社会救助",
    "social_welfare": "社会福利",
    "legal_aid": "法律援助",
    "education_support": "教育安置与控辍保学",
    "criticism_education": "批评教育",
    "admonition": "训诫",
    "administrative_penalty": "治安管理处罚",
    "kinship_care": "亲属抚养",
    "foster_family": "家庭寄养",
    "institution": "机构养育",
    "adoption": "依法收养",
    "returned_to_guardian": "交还监护人",
    "in_school": "在校",
    "not_school_age": "未到学龄",
    "out_of_school": "失学辍学",
    "male": "男",
    "female": "女",
    "unknown": "不详",
    "relative": "近亲属",
    "village_committee": "村（居）民委员会",
    "civil_affairs": "民政部门",
    "school": "学校",
    "kindergarten": "幼儿园",
    "medical": "医疗机构",
    "residents_committee": "居民委员会",
    "social_work": "社工机构",
    "rescue_station": "救助管理机构",
    "welfare_institution": "福利机构",
    "police": "公安机关",
    "citizen": "公民个人",
    "other": "其他",
}

ROLE_NAMES_ZH = {
    "police_intake": "接警员",
    "police": "民警",
    "township_caseworker": "乡镇儿童督导员",
    "village_director": "村儿童主任",
    "civil_affairs": "民政工作人员",
    "manager": "管理人员",
    "admin": "系统管理员",
}
DOCUMENT_NAMES_ZH = {
    "intake_form": "强制报告接报登记表",
    "warning_letter": "告诫书",
    "handover": "书面交接（委托照护）书",
    "assessment_report": "调查评估报告",
    "assistance_plan": "帮扶方案",
    "temporary_guardianship_decision": "临时监护决定书",
    "guardianship_petition": "撤销监护人资格申请书",
    "closing_report": "结案报告",
}
# What a recorded read was of (the `case_read` event's summary; the code stays in its payload).
READ_NAMES_ZH = {
    "case": "案件详情",
    "timeline": "时间线",
    "verify": "完整性校验",
    "documents": "文书目录",
    "notes": "工作记录",
    "task": "任务及案情",
}

# Statuses: one word per status of each kind of record (`open` is 在办 for a case, 进行中 for a task,
# 待走访 for a visit), so each table is its own.
CASE_STATUS_ZH = {"open": "在办", "phase_out": "渐退期", "closed": "已结案"}
TASK_STATUS_ZH = {"open": "进行中", "done": "已完成", "cancelled": "已取消"}
MESSAGE_STATUS_ZH = {
    "queued": "待发送",
    "pending": "待发送",
    "routed": "发送中",
    "retrying": "重试中",
    "sent": "已发送",
    "failed": "未送达",
    "read": "已读",
}
VISIT_STATUS_ZH = {
    "open": "待走访",
    "done": "已走访",
    "overdue": "已逾期",
    "cancelled": "已取消（退出保障范围）",
    "merged": "已并入同一儿童的档案",
}
URGENCY_ZH = {"urgent": "紧急", "normal": "一般"}
# A child's own file: how they came on the ledger, and the lines of their timeline.
ENROLMENT_ZH = {"report": "强制报告", "import": "台账导入", "survey": "排查"}
CHILD_EVENT_NAMES_ZH = {
    "enrolled": "列入台账",
    "updated": "信息更新",
    "category_started": "新增类别",
    "category_ended": "类别终止",
    "merged_into": "并入同一儿童的档案",
    "merged_from": "合并同一儿童的档案",
    "unmerged": "撤销档案合并",
    "identity_removed": "删除身份信息",
}

CODE = re.compile(r"[A-Za-z0-9_\-]+")


def named(code: object, names: Mapping[str, str] = LABELS_ZH, unknown: str = "其他") -> str:
    """What people read for a code: its Chinese name; text someone typed (母亲, 外出务工) as it is;
    nothing as —; and a code no table names as `unknown` — never the code itself."""
    if code is None or code == "":
        return "—"
    text = str(code)
    if text in names:
        return names[text]
    return unknown if CODE.fullmatch(text) else text


def relation_name(relation: object) -> str:
    """A guardian's relation (free text, or the API's usual codes: grandmother → 祖母（外祖母））."""
    return named(relation, RELATION_NAMES_ZH, "其他亲属")


def guardian_status_name(status: object) -> str:
    """A guardian's situation (free text, or a code: working_away → 外出务工)."""
    return named(status, GUARDIAN_STATUS_ZH, "其他情况")
