"""The year-end self-report: the DOCX re-opens with every part in place, the chat text fits."""

from __future__ import annotations

import io
import re

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from bot.documents.self_report import (
    LABEL_KEYS,
    TEXT_LIMIT,
    CheckIn,
    ReportItem,
    SelfReport,
    self_report_docx,
    self_report_text,
)

VI_LABELS = {
    "country_header": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "motto": "Độc lập - Tự do - Hạnh phúc",
    "title": "BẢN TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN CAM KẾT NĂM {year}",
    "member": "Họ và tên",
    "unit": "Đơn vị",
    "category": "Đối tượng",
    "items_heading": "Kết quả thực hiện các nội dung cam kết:",
    "number": "TT",
    "item": "Nội dung cam kết",
    "latest_status": "Kết quả",
    "history": "Quá trình thực hiện",
    "status_done": "Đã hoàn thành",
    "status_in_progress": "Đang thực hiện",
    "status_not_yet": "Chưa thực hiện",
    "no_check_in": "Chưa cập nhật",
    "summary": "Đã hoàn thành {done}/{total} nội dung cam kết.",
    "place_date": "…………, ngày {date}",
    "signature": "Người viết cam kết",
    "signature_hint": "(Ký và ghi rõ họ tên)",
}

LONG_NOTE = (
    "Tham gia đầy đủ sinh hoạt chi bộ, đóng góp ý kiến về xây dựng đường giao thông nông thôn; "
    "vận động 12 hộ gia đình hiến đất mở rộng ngõ xóm, tổ chức ba buổi tọa đàm với chi hội "
    "phụ nữ và chi đoàn thanh niên về gìn giữ vệ sinh môi trường khu dân cư."
)

ITEMS = (
    ReportItem(
        "Gương mẫu chấp hành chủ trương của Đảng, chính sách, pháp luật của Nhà nước",
        (CheckIn("1/2026", "in_progress"), CheckIn("3/2026", "done", "Không vi phạm")),
    ),
    ReportItem(
        "Đọc và học tập một tác phẩm của Chủ tịch Hồ Chí Minh mỗi quý",
        (
            CheckIn("2/2026", "not_yet"),
            CheckIn("4/2026", "in_progress", "Đã đọc 'Sửa đổi lối làm việc'"),
        ),
    ),
    ReportItem("Tiết kiệm điện, nước và văn phòng phẩm tại cơ quan"),
    ReportItem(
        "Vận động nhân dân tham gia xây dựng nông thôn mới",
        (CheckIn("3/2026", "in_progress"), CheckIn("5/2026", "done", LONG_NOTE)),
    ),
    ReportItem(
        "Rèn luyện sức khỏe, tập thể dục mỗi sáng",
        (CheckIn("4/2026", "not_yet", "Ốm hai tuần"),),
    ),
)


def make_report(items=ITEMS, labels=VI_LABELS) -> SelfReport:
    return SelfReport(
        year=2026,
        full_name="Nguyễn Thị Hồng Nhung",
        unit="Chi bộ thôn Đông, Đảng bộ xã Hòa An",
        category="Đảng viên",
        written_on="19/5/2026",
        items=tuple(items),
        labels=labels,
    )


def open_docx(report: SelfReport):
    return docx.Document(io.BytesIO(self_report_docx(report)))


def paragraph_texts(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.text]


def all_text(document) -> str:
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(paragraph_texts(document) + cells)


def test_labels_in_these_tests_are_exactly_the_label_keys():
    assert set(VI_LABELS) == set(LABEL_KEYS)
    assert len(LABEL_KEYS) == len(set(LABEL_KEYS))


def test_docx_has_header_title_member_lines_summary_and_signature():
    document = open_docx(make_report())
    texts = paragraph_texts(document)
    assert texts[:3] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BẢN TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN CAM KẾT NĂM 2026",
    ]
    assert "Họ và tên: Nguyễn Thị Hồng Nhung" in texts
    assert "Đơn vị: Chi bộ thôn Đông, Đảng bộ xã Hòa An" in texts
    assert "Đối tượng: Đảng viên" in texts
    assert "Kết quả thực hiện các nội dung cam kết:" in texts
    # Items 1 and 4 are done at their latest check-in.
    assert "Đã hoàn thành 2/5 nội dung cam kết." in texts
    assert texts[-4:] == [
        "…………, ngày 19/5/2026",
        "Người viết cam kết",
        "(Ký và ghi rõ họ tên)",
        "Nguyễn Thị Hồng Nhung",
    ]


def test_docx_header_is_centred_bold_with_the_motto_underlined():
    header, motto, title = document_paragraphs = open_docx(make_report()).paragraphs[:3]
    for paragraph in document_paragraphs:
        assert paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER
        assert all(run.bold for run in paragraph.runs)
    assert all(run.underline for run in motto.runs)
    assert not any(run.underline for run in header.runs + title.runs)


def test_docx_signature_block_sits_in_the_right_half():
    document = open_docx(make_report())
    section, block = document.sections[0], document.paragraphs[-4:]
    text_width = section.page_width - section.left_margin - section.right_margin
    for paragraph in block:
        assert paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER
        assert paragraph.paragraph_format.left_indent >= 0.45 * text_width
    assert all(p.paragraph_format.keep_with_next for p in block[:-1])


def test_docx_table_has_a_repeated_bold_header_and_one_row_per_item():
    (table,) = open_docx(make_report()).tables
    header = table.rows[0]
    assert [cell.text for cell in header.cells] == [
        "TT",
        "Nội dung cam kết",
        "Kết quả",
        "Quá trình thực hiện",
    ]
    assert all(run.bold for cell in header.cells for p in cell.paragraphs for run in p.runs)
    assert header._tr.trPr.find(qn("w:tblHeader")) is not None
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert [row[:3] for row in rows] == [
        ["1", ITEMS[0].text, "Đã hoàn thành"],
        ["2", ITEMS[1].text, "Đang thực hiện"],
        ["3", ITEMS[2].text, "Chưa cập nhật"],
        ["4", ITEMS[3].text, "Đã hoàn thành"],
        ["5", ITEMS[4].text, "Chưa thực hiện"],
    ]
    assert rows[0][3] == "1/2026: Đang thực hiện\n3/2026: Đã hoàn thành (Không vi phạm)"
    assert rows[2][3] == ""
    assert rows[3][3].endswith(f"5/2026: Đã hoàn thành ({LONG_NOTE})")


def test_docx_is_a4_portrait_with_administrative_margins():
    section = open_docx(make_report()).sections[0]
    assert section.page_width.cm == pytest.approx(21.0, abs=0.01)
    assert section.page_height.cm == pytest.approx(29.7, abs=0.01)
    assert section.top_margin.cm == pytest.approx(2.0, abs=0.01)
    assert section.bottom_margin.cm == pytest.approx(2.0, abs=0.01)
    assert section.left_margin.cm == pytest.approx(3.0, abs=0.01)
    assert 1.5 <= section.right_margin.cm <= 2.0 + 0.01


def test_docx_numbers_pages_from_the_second_on():
    section = open_docx(make_report()).sections[0]
    assert section.different_first_page_header_footer
    assert " PAGE " in section.header._element.xml
    assert "PAGE" not in section.first_page_header._element.xml


def test_docx_keeps_short_rows_on_one_page_and_lets_very_long_ones_break():
    huge = ReportItem("Học tập", (CheckIn("1/2026", "done", LONG_NOTE * 6),))
    (table,) = open_docx(make_report(items=[*ITEMS, huge])).tables
    unsplit = [bool(row._tr.xpath("./w:trPr/w:cantSplit")) for row in table.rows]
    assert unsplit == [True, True, True, True, True, True, False]


def test_docx_font_is_times_new_roman_for_every_script():
    document = open_docx(make_report())
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert 13 <= normal.font.size.pt <= 14
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        assert fonts.get(qn(f"w:{slot}")) == "Times New Roman"
    defaults = document.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:rFonts"))
    assert defaults.get(qn("w:eastAsia")) == "Times New Roman"
    assert defaults.get(qn("w:asciiTheme")) is None
    runs = [run for p in document.paragraphs for run in p.runs]
    runs += [
        run
        for row in document.tables[0].rows
        for cell in row.cells
        for p in cell.paragraphs
        for run in p.runs
    ]
    assert all(run.font.name in (None, "Times New Roman") for run in runs)
    assert all(run.font.size is None or 13 <= run.font.size.pt <= 14 for run in runs)


def test_docx_metadata_names_the_member_not_the_library():
    properties = open_docx(make_report()).core_properties
    assert properties.title == "BẢN TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN CAM KẾT NĂM 2026"
    assert properties.author == "Nguyễn Thị Hồng Nhung"
    assert "python-docx" not in properties.comments + properties.last_modified_by


def test_docx_with_no_items_still_renders():
    document = open_docx(make_report(items=()))
    (table,) = document.tables
    assert len(table.rows) == 1
    assert "Đã hoàn thành 0/0 nội dung cam kết." in paragraph_texts(document)


def test_docx_with_seven_items_and_a_year_of_long_notes_renders():
    year = tuple(CheckIn(f"{m}/2026", "in_progress", LONG_NOTE * 3) for m in range(1, 13))
    items = [ReportItem(f"Nội dung cam kết số {n}", year) for n in range(1, 8)]
    (table,) = open_docx(make_report(items=items)).tables
    assert len(table.rows) == 8
    assert table.rows[7].cells[3].text.count("Đang thực hiện") == 12


def test_docx_drops_characters_xml_cannot_hold():
    items = [ReportItem("Học\x00 tập\x0b", (CheckIn("1/2026", "done", "ghi\x1fchú"),))]
    (table,) = open_docx(make_report(items=items)).tables
    assert table.rows[1].cells[1].text == "Học tập"
    assert table.rows[1].cells[3].text == "1/2026: Đã hoàn thành (ghichú)"


@pytest.mark.parametrize("render", [self_report_docx, self_report_text])
def test_no_word_is_hard_coded(render):
    labels = {key: f"[{key}]" for key in LABEL_KEYS}
    report = make_report(labels=labels)
    output = render(report)
    text = all_text(docx.Document(io.BytesIO(output))) if isinstance(output, bytes) else output
    data = [report.full_name, report.unit, report.category, report.written_on]
    data += [item.text for item in ITEMS]
    data += [c.note or c.period for item in ITEMS for c in item.check_ins]
    data += [c.period for item in ITEMS for c in item.check_ins]
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "")
    leftover = re.sub(r"\[[a-z_]+\]", "", text)
    assert not re.search(r"[^\W\d_]", leftover), leftover


def test_text_has_every_item_status_and_the_summary():
    text = self_report_text(make_report())
    assert len(text) <= TEXT_LIMIT
    for item in ITEMS:
        assert item.text in text
    assert "BẢN TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN CAM KẾT NĂM 2026" in text
    assert "Họ và tên: Nguyễn Thị Hồng Nhung" in text
    assert "3. Tiết kiệm điện, nước và văn phòng phẩm tại cơ quan\nKết quả: Chưa cập nhật" in text
    assert "- 3/2026: Đã hoàn thành (Không vi phạm)" in text
    assert LONG_NOTE in text
    assert "Đã hoàn thành 2/5 nội dung cam kết." in text
    assert text.endswith("…………, ngày 19/5/2026")


def test_text_shortens_very_long_notes_but_keeps_every_item():
    year = tuple(CheckIn(f"{m}/2026", "done", LONG_NOTE * 5) for m in range(1, 7))
    items = [ReportItem(f"Nội dung cam kết số {n}: rèn luyện đạo đức", year) for n in range(7)]
    text = self_report_text(make_report(items=items))
    assert len(text) <= TEXT_LIMIT
    assert all(item.text in text for item in items)
    assert text.count("- 6/2026: Đã hoàn thành (Tham gia đầy đủ") == 7


def test_text_leaves_out_notes_rather_than_keep_a_few_letters_of_each():
    year = tuple(CheckIn(f"{m}/2026", "done", LONG_NOTE) for m in range(1, 13))
    items = [ReportItem(f"Nội dung cam kết số {n}: rèn luyện đạo đức", year) for n in range(7)]
    text = self_report_text(make_report(items=items))
    assert len(text) <= TEXT_LIMIT
    assert text.count("- 12/2026: Đã hoàn thành\n") == 7
    assert "Tham" not in text
    assert "…" in text
    assert LONG_NOTE not in text
    assert "Đã hoàn thành 7/7 nội dung cam kết." in text


def test_text_keeps_only_latest_statuses_when_even_the_history_is_too_long():
    year = tuple(CheckIn(f"{m}/2026", "done", "ghi chú") for m in range(1, 13))
    items = [ReportItem(f"Nội dung cam kết số {n}: " + "rèn luyện " * 30, year) for n in range(7)]
    text = self_report_text(make_report(items=items))
    assert len(text) <= TEXT_LIMIT
    assert all(f"{item.text}\nKết quả: Đã hoàn thành" in text for item in items)
    assert "12/2026" not in text


def test_text_keeps_one_line_per_check_in_when_notes_span_lines():
    items = [ReportItem("Học tập", (CheckIn("1/2026", "done", "dòng một\n\ndòng hai  "),))]
    assert "- 1/2026: Đã hoàn thành (dòng một dòng hai)\n" in self_report_text(make_report(items))


def test_text_refuses_items_too_long_for_one_message():
    items = [ReportItem("x" * 700) for _ in range(7)]
    with pytest.raises(ValueError, match="too long"):
        self_report_text(make_report(items=items))


@pytest.mark.parametrize("render", [self_report_docx, self_report_text])
def test_a_missing_label_is_named(render):
    labels = {k: v for k, v in VI_LABELS.items() if k != "signature_hint"}
    with pytest.raises(KeyError, match="signature_hint"):
        render(make_report(labels=labels))


@pytest.mark.parametrize("render", [self_report_docx, self_report_text])
def test_an_unknown_placeholder_is_named_with_its_label(render):
    labels = {**VI_LABELS, "summary": "{done} trên {tong}"}
    with pytest.raises(KeyError, match=r"'summary'.*\{tong\}"):
        render(make_report(labels=labels))


@pytest.mark.parametrize("render", [self_report_docx, self_report_text])
def test_an_unknown_status_is_refused(render):
    items = [ReportItem("Học tập", (CheckIn("1/2026", "xong"),))]
    with pytest.raises(ValueError, match="'xong'"):
        render(make_report(items=items))
