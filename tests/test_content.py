"""Lessons and texts: the shipped content loads, and bad files are reported by file and line."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from bot.config import SHIPPED_CONTENT
from bot.content.lessons import STRANDS, load_lessons, parse_day_month
from bot.content.texts import Texts
from bot.content.yamlfile import ContentError, Finding


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def lesson(lesson_id: str = "bai-mot", **fields: str) -> str:
    """One lesson item as YAML lines; a field set to None is left out."""
    values = {
        "id": lesson_id,
        "strand": "tu_tuong",
        "title": '"Một tiêu đề"',
        "body": '"Một đoạn văn ngắn."',
        "action": '"Làm một việc nhỏ."',
        "source": '"Hồ Chí Minh toàn tập"',
    } | fields
    lines = [f"{key}: {value}" for key, value in values.items() if value is not None]
    return "  - " + "\n    ".join(lines) + "\n"


def lessons_file(*items: str) -> str:
    return "lessons:\n" + "".join(items)


def findings_of(folder: Path) -> list[Finding]:
    with pytest.raises(ContentError) as caught:
        load_lessons(folder)
    return caught.value.findings


def only_finding(folder: Path) -> Finding:
    findings = findings_of(folder)
    assert len(findings) == 1, findings
    return findings[0]


# -- the shipped content -----------------------------------------------------------------


def test_shipped_lessons_load():
    lessons = load_lessons(SHIPPED_CONTENT / "lessons")

    assert len(lessons) >= 12
    per_strand = Counter(lesson.strand for lesson in lessons)
    assert set(per_strand) == set(STRANDS)
    assert all(per_strand[strand] >= 4 for strand in STRANDS), per_strand
    ids = [lesson.id for lesson in lessons]
    assert len(ids) == len(set(ids))
    assert all(lesson.source for lesson in lessons)
    assert all(lesson.title and lesson.body and lesson.action for lesson in lessons)


def test_shipped_texts_load_in_both_locales():
    texts = Texts.load(SHIPPED_CONTENT / "texts")
    assert texts.get("vi", "greeting.other", name="An") == "Chào bạn An"
    assert texts.get("en", "greeting.other", name="An") == "Hello An"
    assert texts.has("strands.tu_tuong")
    assert texts.keys("strands") == ["strands.tu_tuong", "strands.dao_duc", "strands.phong_cach"]


# -- lessons: what loads -----------------------------------------------------------------


def test_a_valid_lesson_keeps_its_fields_file_and_line(tmp_path):
    file = write(
        tmp_path / "a.yaml",
        lessons_file(lesson("bai-mot"), lesson("bai-hai", tags="[doc-lap, tu-do]")),
    )
    first, second = load_lessons(tmp_path)

    assert (first.id, first.strand, first.title) == ("bai-mot", "tu_tuong", "Một tiêu đề")
    assert first.source == "Hồ Chí Minh toàn tập"
    assert (first.file, first.line) == ("a.yaml", 2)
    assert second.line == line_of(file, "bai-hai")
    assert second.tags == ("doc-lap", "tu-do")


@pytest.mark.parametrize(
    ("label", "strand"),
    [
        ('"tư tưởng"', "tu_tuong"),
        ('"Đạo đức"', "dao_duc"),
        ('"PHONG CÁCH"', "phong_cach"),
        ("phong-cach", "phong_cach"),
        ("dao_duc", "dao_duc"),
    ],
)
def test_vietnamese_strand_labels_are_accepted(tmp_path, label, strand):
    write(tmp_path / "a.yaml", lessons_file(lesson(strand=label)))
    assert load_lessons(tmp_path)[0].strand == strand


def test_dates_are_normalised_and_29_february_is_allowed(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson(dates='["19/05", "2/9", "29/2"]')))
    assert load_lessons(tmp_path)[0].dates == ("19/5", "2/9", "29/2")


def test_body_of_exactly_900_characters_is_allowed(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson(body="a" * 900)))
    assert len(load_lessons(tmp_path)[0].body) == 900


def test_yml_files_are_read_too(tmp_path):
    write(tmp_path / "a.yml", lessons_file(lesson()))
    assert [lesson.id for lesson in load_lessons(tmp_path)] == ["bai-mot"]


def test_parse_day_month():
    assert parse_day_month(" 19/5 ") == (19, 5)
    assert parse_day_month("31/12") == (31, 12)
    for wrong in ("31/2", "30/2", "0/5", "19/13", "19-5", "19/5/2026", "ngày 19/5"):
        assert parse_day_month(wrong) is None, wrong


# -- lessons: what is refused ------------------------------------------------------------


def test_finding_prints_as_file_line_message(tmp_path):
    finding = Finding(tmp_path / "a.yaml", 7, "something is wrong")
    assert str(finding) == f"{tmp_path / 'a.yaml'}:7: something is wrong"
    error = ContentError([finding, Finding(tmp_path / "b.yaml", 2, "also wrong")])
    assert str(error).splitlines() == [str(finding), f"{tmp_path / 'b.yaml'}:2: also wrong"]


@pytest.mark.parametrize(
    "broken",
    [
        "   title: one space too few\n",
        "\tsource: a tab\n",
        "    title: a: b\n",
    ],
)
def test_malformed_yaml_is_reported_at_its_line(tmp_path, broken):
    file = write(tmp_path / "a.yaml", "lessons:\n  - id: bai-mot\n    strand: tu_tuong\n" + broken)
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, 4)
    assert finding.message.startswith("not valid YAML: ")


def test_duplicate_id_across_two_files(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson("bai-mot")))
    second = write(tmp_path / "b.yaml", lessons_file(lesson("bai-hai"), lesson("bai-mot")))
    finding = only_finding(tmp_path)
    assert finding.file == second
    assert finding.line == line_of(second, "id: bai-mot")
    assert "duplicate lesson id 'bai-mot'" in finding.message
    assert "a.yaml:2" in finding.message


def test_body_over_900_characters(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(), lesson("dai", body="a" * 901)))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, line_of(file, "a" * 901))
    assert "901 characters" in finding.message and "900" in finding.message


def test_missing_source(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(), lesson("khong-nguon", source=None)))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, line_of(file, "khong-nguon"))
    assert "lesson 'khong-nguon'" in finding.message and "missing 'source'" in finding.message


def test_blank_source_counts_as_missing(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson(source='"   "')))
    assert "missing 'source'" in only_finding(tmp_path).message


def test_unknown_strand(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(strand="lich_su")))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, line_of(file, "strand:"))
    assert "'strand' must be one of tu_tuong, dao_duc, phong_cach" in finding.message


def test_unknown_field_is_reported_as_a_typo(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(tagz="[doc-lap]")))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, line_of(file, "tagz:"))
    assert "unknown field 'tagz'" in finding.message and "tags" in finding.message


def test_typo_in_a_required_field_reports_both_the_typo_and_the_missing_field(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(source=None, sourse='"Sách"')))
    typo, missing = findings_of(tmp_path)
    assert typo.line == line_of(file, "sourse:") and "unknown field 'sourse'" in typo.message
    assert missing.line == 2 and "missing 'source'" in missing.message


@pytest.mark.parametrize("wrong", ["31/2", "19-5"])
def test_date_that_is_not_a_day_of_the_year(tmp_path, wrong):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(dates=f'["2/9", "{wrong}"]')))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, line_of(file, "dates:"))
    assert repr(wrong) in finding.message and "not a day of the year" in finding.message


def test_dates_that_are_not_a_list(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson(dates='"19/5"')))
    assert "'dates' must be a list" in only_finding(tmp_path).message


def test_tag_with_spaces(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(tags='[doc-lap, "tu do"]')))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, line_of(file, "tags:"))
    assert "tag 'tu do'" in finding.message


def test_id_with_capitals_or_spaces_is_refused(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson('"Bai Mot"')))
    assert "'id' must be 2–64 of a-z, 0-9 and '-'" in only_finding(tmp_path).message


def test_id_and_tag_with_a_trailing_newline_are_refused(tmp_path):
    write(tmp_path / "a.yaml", lessons_file(lesson('"bai-mot\\n"', tags='["doc-lap\\n"]')))
    assert len(findings_of(tmp_path)) == 2


@pytest.mark.parametrize(
    "text", ["lesson:\n  - id: bai-mot\n", "- id: bai-mot\n", "lessons: bai-mot\n", ""]
)
def test_top_level_that_is_not_a_lessons_list(tmp_path, text):
    file = write(tmp_path / "a.yaml", text)
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, 1)
    assert "expected a top-level 'lessons:' list" in finding.message


def test_lesson_item_that_is_not_a_mapping(tmp_path):
    file = write(tmp_path / "a.yaml", lessons_file(lesson(), "  - just a line\n"))
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (file, 1)
    assert "lessons item 2: expected a mapping" in finding.message


def test_empty_folder(tmp_path):
    finding = only_finding(tmp_path)
    assert (finding.file, finding.line) == (tmp_path, 0)
    assert "no lesson files" in finding.message


def test_every_problem_of_every_file_is_reported_at_once(tmp_path):
    first = write(tmp_path / "a.yaml", "lessons: [\n")
    second = write(
        tmp_path / "b.yaml",
        lessons_file(lesson("ok-one"), lesson("bad-one", strand="x", source=None)),
    )
    findings = findings_of(tmp_path)
    assert [(f.file, f.line) for f in findings] == [
        (first, 2),
        (second, line_of(second, "strand: x")),
        (second, line_of(second, "bad-one")),
    ]


# -- texts -------------------------------------------------------------------------------


def texts_folder(tmp_path: Path, vi: str, en: str) -> Path:
    folder = tmp_path / "texts"
    write(folder / "vi.yaml", vi)
    write(folder / "en.yaml", en)
    return folder


def text_findings(folder: Path) -> list[Finding]:
    with pytest.raises(ContentError) as caught:
        Texts.load(folder)
    return caught.value.findings


VI = """\
greeting:
  other: "Chào bạn {name}"
menu:
  title: "Trình đơn"
  items:
    - "Bài học"
    - "Hồ sơ"
"""
EN = """\
greeting:
  other: "Hello {name}"
menu:
  title: "Menu"
  items:
    - "Lessons"
    - "Profile"
"""


def test_texts_fill_placeholders_and_fall_back_to_the_default_locale(tmp_path):
    texts = Texts.load(texts_folder(tmp_path, VI, EN))
    assert texts.get("vi", "greeting.other", name="An") == "Chào bạn An"
    assert texts.get("en", "greeting.other", name="An") == "Hello An"
    assert texts.get("fr", "menu.title") == "Trình đơn"
    assert texts.get("en", "menu.items") == "Lessons\nProfile"
    assert texts.all_locales("menu.title") == ["Trình đơn", "Menu"]
    with pytest.raises(KeyError):
        texts.get("vi", "menu.nothing")


def test_key_missing_in_en_is_reported_in_vi_at_its_line(tmp_path):
    folder = texts_folder(tmp_path, VI + 'extra:\n  only_vi: "Chỉ có tiếng Việt"\n', EN)
    [finding] = text_findings(folder)
    assert finding.file == folder / "vi.yaml"
    assert finding.line == line_of(folder / "vi.yaml", "only_vi:")
    assert finding.message == "'extra.only_vi' is missing in en.yaml"


def test_key_missing_in_vi_is_reported_in_en(tmp_path):
    folder = texts_folder(tmp_path, VI, EN.replace("  title:", "  subtitle:"))
    findings = {(f.file.name, f.line, f.message) for f in text_findings(folder)}
    assert findings == {
        ("vi.yaml", 4, "'menu.title' is missing in en.yaml"),
        ("en.yaml", 4, "'menu.subtitle' is missing in vi.yaml"),
    }


def test_placeholder_mismatch_is_reported_once_with_file_and_line(tmp_path):
    folder = texts_folder(tmp_path, VI, EN.replace("Hello {name}", "Hello {full_name}"))
    [finding] = text_findings(folder)
    assert (finding.file, finding.line) == (folder / "en.yaml", 2)
    assert "'greeting.other'" in finding.message
    assert "['full_name']" in finding.message and "['name']" in finding.message


def test_broken_placeholder_is_reported_once_in_the_file_that_has_it(tmp_path):
    folder = texts_folder(tmp_path, VI, EN.replace("Hello {name}", "Hello {name"))
    findings = text_findings(folder)
    assert [(f.file.name, f.line) for f in findings] == [("en.yaml", 2)]
    assert "bad placeholder" in findings[0].message


def test_malformed_texts_file_and_missing_locale_file(tmp_path):
    folder = tmp_path / "texts"
    write(folder / "vi.yaml", 'greeting:\n  other: "Chào {name}\n')
    findings = text_findings(folder)
    assert [(f.file.name, f.line) for f in findings] == [("vi.yaml", 3), ("en.yaml", 0)]
    assert "not valid YAML" in findings[0].message
    assert "cannot read file" in findings[1].message


def test_number_formats():
    texts = Texts({"vi": {}, "en": {}})
    assert texts.number("vi", 537023) == "537.023"
    assert texts.number("en", 537023) == "537,023"
    assert texts.number("vi", 1234.5) == "1.234,5"
    assert texts.number("vi", -1234) == "-1.234"
    assert texts.number("vi", 999) == "999"
    assert texts.number("vi", 0) == "0"
    assert texts.number("en", 10**9) == "1,000,000,000"


def test_percent_formats():
    texts = Texts({"vi": {}, "en": {}})
    assert texts.percent("vi", 0.9311) == "93,11%"
    assert texts.percent("en", 0.9311) == "93.11%"
    assert texts.percent("vi", 0.5, digits=0) == "50%"
    assert texts.percent("vi", 12.5, digits=1) == "1.250,0%"


def test_date_has_no_zero_padding():
    assert Texts.date(date(2026, 5, 19)) == "19/5/2026"
    assert Texts.date(date(2026, 1, 2)) == "2/1/2026"


def test_a_bare_off_key_is_reported_instead_of_becoming_false(tmp_path):
    folder = texts_folder(tmp_path, "a:\n  off: Tắt\n", "a:\n  off: Off\n")
    findings = text_findings(folder)
    assert findings and all("on, off, yes, no" in f.message for f in findings)
    assert {f.file.name for f in findings} == {"vi.yaml", "en.yaml"}
