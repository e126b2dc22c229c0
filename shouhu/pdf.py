"""Official documents as PDF: the system's Chromium prints the stored HTML (its own print stylesheet),
the CJK font it uses embedded in the file (Debian: chromium + fonts-wqy-zenhei).

The page runs with JavaScript off and every request refused but the document itself (a document
carries no script and loads nothing; this keeps it so). One short-lived browser per PDF: documents
are printed a few times a day, and nothing is left running between them."""

from __future__ import annotations

from typing import Any

from shouhu import config
from shouhu.errors import ShouhuError


class PdfUnavailable(ShouhuError):
    """The machine cannot print (no Chromium where `SHOUHU_CHROMIUM` says)."""

    def __init__(self, detail: str) -> None:
        super().__init__("pdf_unavailable", f"cannot make a PDF here: {detail}", "document")


def html_to_pdf(html: str) -> bytes:
    """A4, the document's margins and backgrounds as its print stylesheet gives them."""
    path = config.settings().chromium
    if not path.exists():
        raise PdfUnavailable(f"no Chromium at {path} (set SHOUHU_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(path), headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(java_script_enabled=False, offline=True)
            page = context.new_page()

            def refuse(route: Any) -> None:
                route.abort()

            page.route("**/*", refuse)  # a document loads nothing (fonts come from the system)
            page.set_content(html, wait_until="load")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
