"""Every table, imported here so `SQLModel.metadata` knows them all."""

from models.account import ApiToken, Credential, LoginThrottle, WebSession
from models.approval import Approval
from models.attachment import Attachment
from models.audit import AccessRecord, AdminRecord
from models.case import (
    Breach,
    Case,
    ClockFire,
    Command,
    Counter,
    Deadline,
    Report,
    Reporter,
    Task,
)
from models.child import Child, ChildMerge, Guardian
from models.document import Document
from models.ledger import ChildCategory, ChildEvent, EntrustedCare, VerificationVisit
from models.org import Jurisdiction, Unit, User
from models.outbox import Delivery, Notification
from models.setting import Setting
from models.timeline import TimelineEvent

__all__ = [
    "Approval",
    "AccessRecord",
    "Attachment",
    "AdminRecord",
    "ApiToken",
    "Credential",
    "LoginThrottle",
    "WebSession",
    "Breach",
    "Case",
    "ClockFire",
    "Command",
    "Counter",
    "Deadline",
    "Report",
    "Reporter",
    "Task",
    "Child",
    "Guardian",
    "ChildMerge",
    "Document",
    "Setting",
    "Jurisdiction",
    "Unit",
    "User",
    "Delivery",
    "Notification",
    "TimelineEvent",
    "VerificationVisit",
    "ChildCategory",
    "ChildEvent",
    "EntrustedCare",
]
