"""Year-end self-report on a member's personal commitment: a printable DOCX and a chat text.

A member writes a yearly commitment (3-7 items), checks in on each item monthly and at year end
presents the results to their party cell. ``self_report_docx`` lays that out as an A4 document
in the Vietnamese administrative style (Decree 30/2020/NĐ-CP: Times New Roman, margins top and
bottom 2 cm, left 3 cm, right 2 cm, page numbers from page 2; a table of items whose header row
repeats on every page); ``self_report_text`` gives the same content as plain text of at most
4,000 characters for the chat.

No user-facing word is written here: every heading and fixed phrase comes from
``SelfReport.labels``, which must hold every key of ``LABEL_KEYS`` (a missing one raises a
``KeyError`` naming it). Keys and the placeholders they may use:

- ``country_header`` — national header, e.g. "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
- ``motto`` — motto under it, printed underlined, e.g. "Độc lập - Tự do - Hạnh phúc"
- ``title`` — document title; may use ``{year}``
- ``member``, ``unit``, ``category`` — captions of the lines "<caption>: <value>"
- ``items_heading`` — heading above the table of items
- ``number``, ``item``, ``latest_status``, ``history`` — the table's column headings
  (also the captions of an item's lines in the chat text)
- ``status_done``, ``status_in_progress``, ``status_not_yet`` — the three check-in statuses
- ``no_check_in`` — shown as the latest status of an item nobody checked in on
- ``summary`` — line under the table; may use ``{done}``, ``{in_progress}``, ``{not_yet}``,
  ``{no_check_in}`` (items counted by their latest status) and ``{total}``
- ``place_date`` — line above the signature; may use ``{date}`` (``SelfReport.written_on``)
- ``signature`` — signer's role above the signature, e.g. "Người viết cam kết"
- ``signature_hint`` — e.g. "(Ký và ghi rõ họ tên)"

Check-ins are taken in the order given, oldest first; the last one is an item's latest status.
The chat text leaves out the signature block. When it would be too long it shortens the notes
of check-ins evenly (leaving them out when fewer than 12 characters would remain), then leaves
out the monthly history (each item keeps its latest status); it never drops or cuts an item.
Only when the items alone exceed the limit does it raise ``ValueError``.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Length, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

LABEL_KEYS: tuple[str, ...] = (
    "country_header",
    "motto",
    "title",
    "member",
    "unit",
    "category",
    "items_heading",
    "number",
    "item",
    "latest_status",
    "history",
    "status_done",
    "status_in_progress",
    "status_not_yet",
    "no_check_in",
    "summary",
    "place_date",
    "signature",
    "signature_hint",
)
STATUSES: tuple[str, ...] = ("done", "in_progress", "not_yet")
TEXT_LIMIT = 4000
MIN_NOTE = 12  # a note cut shorter than this says nothing; it is left out instead

FONT = "Times New Roman"
BODY_SIZE = Pt(14)
HEADER_SIZE = Pt(13)
TABLE_SIZE = Pt(13)
PAGE_WIDTH, PAGE_HEIGHT = Cm(21), Cm(29.7)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Cm(2), Cm(2), Cm(3), Cm(2)
COLUMN_WIDTHS = (Cm(1.1), Cm(5.5), Cm(3.3), Cm(6.1))  # the 16 cm between the margins
# A row estimated at no more than this many lines is kept on one page; taller rows may break.
UNSPLIT_ROW_LINES = 20
CHARS_PER_LINE = (26, 30)  # roughly, at 13 pt in the item and history columns
SIGNATURE_INDENT = Cm(8)  # the signature block is centred in the right half of the page
SIGNATURE_SPACE = Pt(64)  # room for the handwritten signature
NO_SPACE = Pt(0)

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class CheckIn:
    period: str  # e.g. "3/2026" (month/year as Vietnamese write it)
    status: str  # "done" | "in_progress" | "not_yet"
    note: str = ""


@dataclass(frozen=True)
class ReportItem:
    text: str
    check_ins: tuple[CheckIn, ...] = ()


@dataclass(frozen=True)
class SelfReport:
    year: int
    full_name: str
    unit: str  # full unit name, e.g. "Chi bộ thôn Đông, Đảng bộ xã Hòa An"
    category: str  # label, e.g. "Đảng viên"
    written_on: str  # "19/5/2026" (already formatted)
    items: tuple[ReportItem, ...]
    labels: Mapping[str, str] = field(hash=False)  # every key of LABEL_KEYS


# --- content shared by both renderings ---------------------------------------------------------


def _check_labels(labels: Mapping[str, str]) -> None:
    missing = [key for key in LABEL_KEYS if key not in labels]
    if missing:
        raise KeyError(f"self-report label(s) missing from labels: {', '.join(missing)}")


def _fill(labels: Mapping[str, str], key: str, **values: object) -> str:
    try:
        return labels[key].format_map(values)
    except KeyError as error:
        raise KeyError(
            f"self-report label {key!r} uses unknown placeholder {{{error.args[0]}}}; "
            f"allowed: {', '.join('{' + name + '}' for name in values)}"
        ) from None
    except (ValueError, IndexError) as error:
        raise ValueError(f"self-report label {key!r} is not a valid template: {error}") from None


def _status(labels: Mapping[str, str], status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"unknown check-in status {status!r}; expected one of {STATUSES}")
    return labels[f"status_{status}"]


def _latest(item: ReportItem) -> CheckIn | None:
    return item.check_ins[-1] if item.check_ins else None


def _latest_status(labels: Mapping[str, str], item: ReportItem) -> str:
    latest = _latest(item)
    return _status(labels, latest.status) if latest else labels["no_check_in"]


def _counts(items: Iterable[ReportItem]) -> dict[str, int]:
    counts = dict.fromkeys((*STATUSES, "no_check_in", "total"), 0)
    for item in items:
        latest = _latest(item)
        counts[latest.status if latest else "no_check_in"] += 1
        counts["total"] += 1
    return counts


def _title(report: SelfReport) -> str:
    return _fill(report.labels, "title", year=report.year)


def _summary(report: SelfReport) -> str:
    return _fill(report.labels, "summary", **_counts(report.items))


def _place_date(report: SelfReport) -> str:
    return _fill(report.labels, "place_date", date=report.written_on)


def _member_lines(report: SelfReport) -> list[tuple[str, str]]:
    labels = report.labels
    return [
        (labels["member"], report.full_name),
        (labels["unit"], report.unit),
        (labels["category"], report.category),
    ]


def _validate(report: SelfReport) -> None:
    """Fail before rendering anything: missing labels, bad templates, unknown statuses."""
    _check_labels(report.labels)
    for item in report.items:
        for check_in in item.check_ins:
            _status(report.labels, check_in.status)
    for render in (_title, _summary, _place_date):
        render(report)


# --- DOCX --------------------------------------------------------------------------------------


def self_report_docx(report: SelfReport) -> bytes:
    """Render the self-report as a printable A4 DOCX document."""
    _validate(report)
    document = Document()
    _set_page(document.sections[0])
    _add_page_numbers(document.sections[0])
    _set_fonts(document)
    _add_national_header(document, report.labels)
    _add_title(document, _title(report))
    _add_member_lines(document, report)
    _add_text(document.add_paragraph(), report.labels["items_heading"], bold=True)
    _add_items_table(document, report)
    _add_text(_body_paragraph(document, space_before=Pt(8)), _summary(report))
    _add_signature_block(document, report)
    _set_properties(document, report)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_page(section: Section) -> None:
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT


def _use_font(rpr) -> None:
    """Name the font for every script slot (Word picks East-Asian for some characters)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _add_page_numbers(section: Section) -> None:
    """Page numbers centred at the top from page 2 on, as in administrative documents."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    for tag, attributes in (
        ("w:fldChar", {"w:fldCharType": "begin"}),
        ("w:instrText", {"xml:space": "preserve"}),
        ("w:fldChar", {"w:fldCharType": "end"}),
    ):
        element = OxmlElement(tag, attrs={qn(k): v for k, v in attributes.items()})
        if tag == "w:instrText":
            element.text = " PAGE "
        run._r.append(element)


def _set_fonts(document: DocxDocument) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for rpr in defaults.iter(qn("w:rPr")):
            _use_font(rpr)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = BODY_SIZE
    _use_font(normal.element.get_or_add_rPr())
    paragraph_format = normal.paragraph_format
    paragraph_format.space_before, paragraph_format.space_after = Pt(0), Pt(6)
    paragraph_format.line_spacing = 1.1


def _add_text(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: Length | None = None,
) -> Paragraph:
    run = paragraph.add_run(_NOT_XML.sub("", text))
    run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
    if size is not None:
        run.font.size = size
    return paragraph


def _centred(document: DocxDocument, space_after: Length = NO_SPACE) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = space_after
    return paragraph


def _body_paragraph(document: DocxDocument, space_before: Length = NO_SPACE) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.space_before = space_before
    return paragraph


def _add_national_header(document: DocxDocument, labels: Mapping[str, str]) -> None:
    _add_text(_centred(document), labels["country_header"], bold=True, size=HEADER_SIZE)
    _add_text(_centred(document), labels["motto"], bold=True, underline=True)


def _add_title(document: DocxDocument, title: str) -> None:
    paragraph = _centred(document, space_after=Pt(18))
    paragraph.paragraph_format.space_before = Pt(30)
    _add_text(paragraph, title, bold=True)


def _add_member_lines(document: DocxDocument, report: SelfReport) -> None:
    for caption, value in _member_lines(report):
        paragraph = _body_paragraph(document)
        _add_text(paragraph, f"{caption}: ")
        _add_text(paragraph, value, bold=True)


def _add_items_table(document: DocxDocument, report: SelfReport) -> None:
    labels = report.labels
    table = document.add_table(rows=1, cols=len(COLUMN_WIDTHS))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    headings = (labels["number"], labels["item"], labels["latest_status"], labels["history"])
    for cell, heading in zip(table.rows[0].cells, headings, strict=True):
        _add_text(_cell_paragraph(cell, WD_ALIGN_PARAGRAPH.CENTER), heading, bold=True)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    _repeat_as_header(table)
    for number, item in enumerate(report.items, start=1):
        _add_item_row(table, labels, number, item)
    _set_column_widths(table)


def _repeat_as_header(table: Table) -> None:
    """Repeat the first row on every page and never split it."""
    for tag in ("w:cantSplit", "w:tblHeader"):
        _set_row_flag(table.rows[0]._tr, tag)


def _set_row_flag(tr, tag: str) -> None:
    tr.get_or_add_trPr().append(OxmlElement(tag, attrs={qn("w:val"): "true"}))


def _estimated_lines(labels: Mapping[str, str], item: ReportItem) -> int:
    """A rough count of the lines the row of this item takes up."""
    item_chars, history_chars = CHARS_PER_LINE
    history = [f"{c.period}: {_status(labels, c.status)} ({c.note})" for c in item.check_ins]
    return max(
        math.ceil(len(item.text) / item_chars),
        sum(math.ceil(len(line) / history_chars) for line in history),
    )


def _set_column_widths(table: Table) -> None:
    for column, width in zip(table.columns, COLUMN_WIDTHS, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _cell_paragraph(
    cell: _Cell, alignment: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT
) -> Paragraph:
    """The cell's empty first paragraph, or a new one after it, in table spacing."""
    first = cell.paragraphs[0]
    paragraph = first if not first.runs else cell.add_paragraph()
    paragraph.alignment = alignment
    paragraph_format = paragraph.paragraph_format
    paragraph_format.space_before = paragraph_format.space_after = Pt(2)
    paragraph_format.line_spacing = 1.0
    return paragraph


def _add_item_row(table: Table, labels: Mapping[str, str], number: int, item: ReportItem) -> None:
    row = table.add_row()
    if _estimated_lines(labels, item) <= UNSPLIT_ROW_LINES:
        _set_row_flag(row._tr, "w:cantSplit")
    number_cell, text_cell, status_cell, history_cell = row.cells
    centred = WD_ALIGN_PARAGRAPH.CENTER
    _add_text(_cell_paragraph(number_cell, centred), str(number), size=TABLE_SIZE)
    _add_text(_cell_paragraph(text_cell), item.text, size=TABLE_SIZE)
    _add_text(_cell_paragraph(status_cell), _latest_status(labels, item), size=TABLE_SIZE)
    for check_in in item.check_ins:
        paragraph = _cell_paragraph(history_cell)
        _add_text(paragraph, f"{check_in.period}: ", bold=True, size=TABLE_SIZE)
        _add_text(paragraph, _status(labels, check_in.status), size=TABLE_SIZE)
        if check_in.note.strip():
            _add_text(paragraph, f" ({check_in.note.strip()})", italic=True, size=TABLE_SIZE)


def _add_signature_block(document: DocxDocument, report: SelfReport) -> None:
    labels = report.labels
    lines = (
        (_place_date(report), {"italic": True}),
        (labels["signature"], {"bold": True}),
        (labels["signature_hint"], {"italic": True}),
        (report.full_name, {"bold": True}),
    )
    for index, (text, style) in enumerate(lines):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph_format = paragraph.paragraph_format
        paragraph_format.left_indent = SIGNATURE_INDENT
        paragraph_format.space_after = Pt(0)
        paragraph_format.keep_with_next = index < len(lines) - 1
        paragraph_format.space_before = {0: Pt(18), 3: SIGNATURE_SPACE}.get(index, Pt(0))
        _add_text(paragraph, text, **style)


def _set_properties(document: DocxDocument, report: SelfReport) -> None:
    properties = document.core_properties
    properties.title = _NOT_XML.sub("", _title(report))
    properties.author = properties.last_modified_by = _NOT_XML.sub("", report.full_name)
    properties.comments = properties.subject = properties.keywords = ""


# --- chat text ---------------------------------------------------------------------------------


def self_report_text(report: SelfReport) -> str:
    """Render the self-report as chat text of at most TEXT_LIMIT characters."""
    _validate(report)
    full = _text(report, note_limit=None)
    if len(full) <= TEXT_LIMIT:
        return full
    notes = (c.note for item in report.items for c in item.check_ins)
    longest = max((len(_one_line(note)) for note in notes), default=0)
    limit = _largest_fitting(lambda n: len(_text(report, note_limit=n)) <= TEXT_LIMIT, longest)
    if limit is not None:
        return _text(report, note_limit=limit if limit >= MIN_NOTE else 0)
    brief = _text(report, note_limit=0, history=False)
    if len(brief) <= TEXT_LIMIT:
        return brief
    raise ValueError(
        f"self-report text has {len(brief)} characters without notes or history; "
        f"the items are too long for one message of {TEXT_LIMIT}"
    )


def _largest_fitting(fits: Callable[[int], bool], upper: int) -> int | None:
    """The largest n in [0, upper] with fits(n), for a fits that turns false as n grows."""
    if not fits(0):
        return None
    low, high = 0, upper
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(note: str, limit: int | None) -> str:
    note = _one_line(note)
    if limit is None or len(note) <= limit:
        return note
    return note[: limit - 1].rstrip() + "…" if limit > 1 else ""


def _text(report: SelfReport, *, note_limit: int | None, history: bool = True) -> str:
    labels = report.labels
    blocks = [
        f"{labels['country_header']}\n{labels['motto']}",
        _title(report),
        "\n".join(f"{caption}: {value}" for caption, value in _member_lines(report)),
        labels["items_heading"],
        *(
            _item_text(labels, number, item, note_limit, history)
            for number, item in enumerate(report.items, start=1)
        ),
        _summary(report),
        _place_date(report),
    ]
    return "\n\n".join(blocks)


def _item_text(
    labels: Mapping[str, str],
    number: int,
    item: ReportItem,
    note_limit: int | None,
    history: bool,
) -> str:
    latest = _latest_status(labels, item)
    lines = [f"{number}. {item.text}", f"{labels['latest_status']}: {latest}"]
    if history and item.check_ins:
        lines.append(f"{labels['history']}:")
        for check_in in item.check_ins:
            note = _shorten(check_in.note, note_limit)
            status = _status(labels, check_in.status)
            lines.append(f"- {check_in.period}: {status}" + (f" ({note})" if note else ""))
    return "\n".join(lines)
