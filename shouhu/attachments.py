"""Where a case's photos, scans and PDFs are kept: `$SHOUHU_HOME/attachments/<case id>/<attachment id>`
(copied by `shouhu backup`). The file name on disk is the random id — never what was uploaded — and the
type is told by the bytes, not by the name or the browser's word for it."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
import uuid
from pathlib import Path

from shouhu import config

MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
TYPE_NAMES_ZH = {"image/jpeg": "照片", "image/png": "图片", "image/webp": "图片", "application/pdf": "PDF 文件"}


def sniff(data: bytes) -> str | None:
    """The file's type from its first bytes (JPEG, PNG, WebP, PDF), or None."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_name(name: str | None, kind: str) -> str:
    """The uploaded name as people may read it: its last part, printable, at most 100 characters."""
    text = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "CZ" or ch == " ").strip(" .")
    text = re.sub(r"\s+", " ", text)[:100]
    return text or TYPE_NAMES_ZH.get(kind, "附件")


def directory() -> Path:
    return config.home() / "attachments"


def path_of(case_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
    return directory() / str(case_id) / str(attachment_id)


def store(case_id: uuid.UUID, attachment_id: uuid.UUID, data: bytes) -> Path:
    """Write the file whole or not at all (a temporary file renamed into place), readable by us only."""
    target = path_of(case_id, attachment_id)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
