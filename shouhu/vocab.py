"""The closed vocabularies of the CLI contract: one place, used by validation and policy."""
from __future__ import annotations

from typing import Literal

UnitType = Literal[
    "coordination_office", "civil_affairs", "rescue_station", "welfare_institution",
    "police_bureau", "police_station", "education_bureau", "health_bureau", "court",
    "township", "village",
]
Role = Literal[
    "police_intake", "police", "township_caseworker", "village_director", "civil_affairs", "manager",
]
ReporterUnitType = Literal[
    "school", "kindergarten", "medical", "village_committee", "residents_committee", "social_work",
    "rescue_station", "welfare_institution", "police", "citizen", "other",
]
Situation = Literal[
    "living_alone", "missing", "guardianship_absent", "guardian_incapable", "guardian_neglect",
    "domestic_violence", "accidental_injury", "unlawful_harm", "abandonment", "sexual_harm",
    "parent_detained",
]
Measure = Literal[
    "admonish_guardian", "warning_letter", "entrusted_care", "temporary_care", "missing_search",
    "shelter_escort", "stop_harm", "criminal_case", "written_handover", "medical_treatment",
]
Service = Literal[
    "guardianship_guidance", "emergency_shelter", "medical_treatment", "psychological_counseling",
    "behavior_correction", "social_assistance", "social_welfare", "legal_aid", "education_support",
]
Stage = Literal["emergency", "assessment", "intervention", "closed"]
TaskKind = Literal[
    "emergency_response", "temporary_care", "assessment", "service", "follow_up_visit",
    "final_review", "guardian_measures", "temporary_guardianship", "court_petition",
    "court_ruling", "placement", "warning_letter_visit", "holiday_patrol",
]
# Who a rule points at, resolved against the case's township (see shouhu/units.py).
Selector = Literal[
    "station", "police_bureau", "township", "village", "civil_affairs", "rescue_station",
    "coordination_office", "education_bureau", "health_bureau", "court", "reporter_supervisor",
]
RiskLevel = Literal["low", "medium", "high"]

STAGE_NAMES_ZH = {
    "emergency": "应急处置", "assessment": "评估帮扶", "intervention": "监护干预", "closed": "已结案",
}
