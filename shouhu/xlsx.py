"""The first sheet of an .xlsx workbook, read in one streaming pass (a county's ledger is 100,000 rows).

openpyxl's read-only mode builds a dict and a cell object per cell and its shared-string table
an object per string: for 1.7 million cells that is most of an import's time. Here the sheet's
XML and the shared strings are read with `zipfile` and `xml.etree.ElementTree.iterparse`, and
each cell is turned into the value openpyxl (read-only, data only) gives for it: shared strings
(rich-text runs joined, phonetic runs left out), inline strings, numbers (int or float), dates
(a number under a date format, 1900 or 1904 calendar), booleans, ISO dates, errors as their text;
rows padded to the sheet's recorded dimension and missing rows given as empty ones, so row
numbers in error messages are the row numbers Excel shows.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, fromstring, iterparse

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
OFFICE_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
ROW, CELL, VALUE, INLINE = f"{MAIN}row", f"{MAIN}c", f"{MAIN}v", f"{MAIN}is"
TEXT, RUN, DIMENSION, SHEET_DATA = f"{MAIN}t", f"{MAIN}r", f"{MAIN}dimension", f"{MAIN}sheetData"


class NotAWorkbook(ValueError):
    """The file is not an .xlsx workbook this reader can open (the message names only the part)."""


# An uploaded file is untrusted: ElementTree resolves no external entities, and the expat it runs on
# (2.4.1 and later; Python 3.11 ships 2.5+) stops entity-expansion bombs. That is all defusedxml adds.
def _tree(data: bytes) -> Element:
    return fromstring(data)  # noqa: S314 - see above


def _events(source: IO[bytes]) -> Iterator[tuple[str, Element]]:
    return iterparse(source)  # noqa: S314 - see above


def first_sheet_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The first worksheet's rows as tuples of values, as openpyxl's
    `load_workbook(read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True)` gives them.
    Raises NotAWorkbook before the first row when the file cannot be read as a workbook."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotAWorkbook(type(exc).__name__) from None
    try:
        names = set(archive.namelist())
        workbook_part, strings_part = _parts(archive)
        epoch, sheet_part = _workbook(archive, workbook_part, names)
        dates, durations = _date_styles(archive, names)
        strings = _shared_strings(archive, strings_part) if strings_part in names else []
    except NotAWorkbook:
        archive.close()
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged part fails in many ways; none names a cell's content
        archive.close()
        raise NotAWorkbook(type(exc).__name__) from None
    return _rows(archive, sheet_part, strings, epoch, dates, durations)


def _parts(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    root = _tree(archive.read("[Content_Types].xml"))
    workbook = strings = None
    for override in root.iter(f"{CONTENT_TYPES}Override"):
        kind, part = override.get("ContentType"), (override.get("PartName") or "").lstrip("/")
        if kind in WORKBOOK_TYPES and workbook is None:
            workbook = part
        elif kind == SHARED_STRINGS_TYPE and strings is None:
            strings = part
    if workbook is None:
        raise NotAWorkbook("no workbook part")
    return workbook, strings


def _workbook(archive: zipfile.ZipFile, part: str, names: set[str]) -> tuple[Any, str]:
    """The calendar (1900 or 1904) and the first worksheet's part (chartsheets are not worksheets)."""
    root = _tree(archive.read(part))
    properties = root.find(f"{MAIN}workbookPr")
    flag = (properties.get("date1904") if properties is not None else None) or ""
    epoch = CALENDAR_MAC_1904 if flag.lower() in ("1", "true") else CALENDAR_WINDOWS_1900
    folder, name = posixpath.split(part)
    rels = _tree(archive.read(posixpath.join(folder, "_rels", f"{name}.rels")))
    targets: dict[str, tuple[str, str]] = {}
    for rel in rels.iter(f"{PACKAGE_RELS}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        targets[rel.get("Id") or ""] = (target, rel.get("Type") or "")
    for sheet in root.iter(f"{MAIN}sheet"):
        rid = sheet.get(f"{OFFICE_RELS}id")
        if not rid or rid not in targets:
            continue
        target, kind = targets[rid]
        if target in names and "chartsheet" not in kind:
            return epoch, target
    raise NotAWorkbook("no worksheet")


def _date_styles(archive: zipfile.ZipFile, names: set[str]) -> tuple[set[int], set[int]]:
    """Which cell styles (cellXfs indices) hold dates, and which of those durations (openpyxl's rule)."""
    if "xl/styles.xml" not in names:
        return set(), set()
    root = _tree(archive.read("xl/styles.xml"))
    custom: dict[int, str] = {}
    formats = root.find(f"{MAIN}numFmts")
    if formats is not None:
        for fmt in formats.iter(f"{MAIN}numFmt"):
            custom[int(fmt.get("numFmtId") or 0)] = fmt.get("formatCode") or ""
    dates: set[int] = set()
    durations: set[int] = set()
    xfs = root.find(f"{MAIN}cellXfs")
    for index, xf in enumerate(xfs.iter(f"{MAIN}xf") if xfs is not None else ()):
        number = int(xf.get("numFmtId") or 0)
        code = custom[number] if number in custom else builtin_format_code(number)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
    return dates, durations


def _text_of(node: Element) -> str:
    """A string item's text: its plain text and its rich-text runs' text, phonetic runs left out."""
    plain: str | None = None
    runs: list[str] = []
    for part in node:
        if part.tag == TEXT:
            if plain is None:
                plain = part.text or ""
        elif part.tag == RUN:
            for piece in part:
                if piece.tag == TEXT:
                    runs.append(piece.text or "")
                    break
    return (plain or "") + "".join(runs)


def _shared_strings(archive: zipfile.ZipFile, part: str) -> list[str]:
    strings: list[str] = []
    item = f"{MAIN}si"
    with archive.open(part) as source:
        for _event, node in _events(source):
            if node.tag == item:
                strings.append(_text_of(node).replace("x005F_", ""))
                node.clear()
    return strings


def _number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


def _rows(
    archive: zipfile.ZipFile, part: str, strings: list[str], epoch: Any, dates: set[int], durations: set[int]
) -> Iterator[tuple[Any, ...]]:
    with archive, archive.open(part) as source:
        yield from _sheet(source, strings, epoch, dates, durations)


def _sheet(
    source: IO[bytes], strings: list[str], epoch: Any, dates: set[int], durations: set[int]
) -> Iterator[tuple[Any, ...]]:
    max_col: int | None = None
    max_row: int | None = None
    counter, number, row_counter, data_seen = 1, 1, 0, False
    for _event, node in _events(source):
        tag = node.tag
        if tag == DIMENSION and not data_seen:
            _min_col, _min_row, max_col, max_row = range_boundaries(node.get("ref") or "")
            continue
        if tag == SHEET_DATA:
            data_seen = True
            continue
        if tag != ROW:
            continue
        data_seen = True
        given = node.get("r")
        if given is not None:
            try:
                row_counter = int(given)
            except ValueError:
                as_float = float(given)
                if not as_float.is_integer():
                    raise ValueError(f"{given} is not a valid row number") from None
                row_counter = int(as_float)
        else:
            row_counter += 1
        number = row_counter
        cells = _cells(node, strings, epoch, dates, durations)
        node.clear()
        if max_row is not None and number > max_row:
            break
        empty = (None,) * max_col if max_col is not None else ()
        while counter < number:  # rows the sheet leaves out are empty rows
            counter += 1
            yield empty
        if counter <= number:
            counter += 1
            yield _padded(cells, max_col)
    if max_row is not None and max_row < number:
        empty = (None,) * max_col if max_col is not None else ()
        for _ in range(counter, max_row + 1):
            yield empty


def _padded(cells: list[tuple[int, Any]], max_col: int | None) -> tuple[Any, ...]:
    if not cells and not max_col:
        return ()
    width = max_col or cells[-1][0]
    values: list[Any] = [None] * width
    for column, value in cells:
        if 1 <= column <= width:
            values[column - 1] = value
    return tuple(values)


def _cells(row: Element, strings: list[str], epoch: Any, dates: set[int], durations: set[int]) -> list[tuple[int, Any]]:
    found: list[tuple[int, Any]] = []
    column = 0
    for cell in row:
        if cell.tag != CELL:
            continue
        attributes = cell.attrib
        kind = attributes.get("t", "n")
        coordinate = attributes.get("r")
        if coordinate:
            column = column_index_from_string(coordinate.rstrip("0123456789"))
        else:
            column += 1
        value: Any = None
        inline = None
        for part in cell:  # <v> and <is>, looked at once (not a path search per cell)
            if part.tag == VALUE and value is None:
                value = part.text
            elif part.tag == INLINE and inline is None:
                inline = part
        if kind == "inlineStr":
            value = _text_of(inline) if inline is not None else None
        elif not value:
            value = None
        elif kind == "n":
            value = _number(value)
            style = int(attributes.get("s") or 0)
            if style in dates:
                try:
                    value = from_excel(value, epoch, timedelta=style in durations)
                except (OverflowError, ValueError):
                    value = "#VALUE!"
        elif kind == "s":
            value = strings[int(value)]
        elif kind == "b":
            value = bool(int(value))
        elif kind == "d":
            value = from_ISO8601(value)
        found.append((column, value))
    return found
