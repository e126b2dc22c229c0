"""Official documents generated for a case (接报登记表, 告诫书, …), with their content hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class Document(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    kind: str
    title: str
    content_type: str = "text/html"
    content: str
    sha256: str
    # The same document rendered from masked data (shouhu.masking), for managers; None for
    # documents made before masked renderings existed (masked readers are then refused).
    masked_content: str | None = None
    masked_sha256: str | None = None
    confidential: bool = False  # names the reporter: police and managers only
    issued_by: str = ""
    created_at: datetime = when()
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)
