"""Photos, scans and PDFs kept with a case (issue 15 §6): the file lives under `$SHOUHU_HOME/attachments`
(backed up with the database), the row says what it is, who added it and its SHA-256 (also on the case's
timeline). The id is random: the file is served only after the case's access rule, never by its path."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class Attachment(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    name: str  # as uploaded, cleaned (shown to people who may read the case; never a path)
    content_type: str  # sniffed from the bytes, not taken from the upload
    size: int
    sha256: str
    note: str = ""
    added_by: str
    created_at: datetime = when()
