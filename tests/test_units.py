"""The organisation tree from a YAML or CSV units file (bot/org.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEMO_UNITS
from bot.content.yamlfile import ContentError, Finding
from bot.core.models import Unit
from bot.org import Organisation, load_units


@pytest.fixture(scope="module")
def demo() -> Organisation:
    return load_units(DEMO_UNITS)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def codes(units: list[Unit]) -> list[str]:
    return [unit.code for unit in units]


def findings_of(path: Path) -> list[Finding]:
    with pytest.raises(ContentError) as caught:
        load_units(path)
    return caught.value.findings


def only_finding(path: Path) -> Finding:
    findings = findings_of(path)
    assert len(findings) == 1, findings
    assert findings[0].file == path
    return findings[0]


# -- the demo tree -----------------------------------------------------------------------


def test_demo_file_has_seven_units(demo):
    assert len(demo.units) == 7
    assert codes(demo.children(None)) == ["DEMO"]
    assert codes(demo.children("DEMO")) == ["DEMO.HA", "DEMO.BS"]
    assert demo.get("DEMO.HA.1").name == "Chi bộ thôn Đông (minh họa)"
    assert demo.get("DEMO.HA.1").level == "chi bộ"
    assert demo.get("NOPE") is None


def test_subtree_is_depth_first_in_file_order(demo):
    assert codes(demo.subtree("DEMO")) == [
        "DEMO",
        "DEMO.HA",
        "DEMO.HA.1",
        "DEMO.HA.2",
        "DEMO.BS",
        "DEMO.BS.1",
        "DEMO.BS.2",
    ]
    assert codes(demo.subtree("DEMO.BS")) == ["DEMO.BS", "DEMO.BS.1", "DEMO.BS.2"]
    assert codes(demo.subtree("DEMO.HA.2")) == ["DEMO.HA.2"]


def test_ordered_puts_parents_before_children(demo):
    assert codes(demo.ordered()) == codes(demo.subtree("DEMO"))


def test_ancestors_and_path_run_from_the_root_down(demo):
    assert codes(demo.ancestors("DEMO.HA.1")) == ["DEMO", "DEMO.HA", "DEMO.HA.1"]
    assert codes(demo.ancestors("DEMO")) == ["DEMO"]
    assert demo.ancestors("NOPE") == []
    assert demo.path("DEMO.HA.1") == "/DEMO/DEMO.HA/DEMO.HA.1/"
    assert demo.path("DEMO") == "/DEMO/"


def test_is_within(demo):
    assert demo.is_within("DEMO.HA.1", "DEMO.HA")
    assert demo.is_within("DEMO.HA.1", "DEMO")
    assert demo.is_within("DEMO.HA", "DEMO.HA")
    assert not demo.is_within("DEMO.HA.1", "DEMO.BS")
    assert not demo.is_within("DEMO", "DEMO.HA")
    assert not demo.is_within("NOPE", "DEMO")


def test_full_name_goes_from_the_unit_up_without_the_root(demo):
    assert demo.full_name("DEMO.HA.1") == (
        "Chi bộ thôn Đông (minh họa), Đảng bộ xã Hòa An (minh họa)"
    )
    assert demo.full_name("DEMO") == "Đảng bộ Tỉnh Minh Họa (dữ liệu mẫu)"


def test_search_ignores_diacritics_and_case(demo):
    assert codes(demo.search("thon dong")) == ["DEMO.HA.1"]
    assert codes(demo.search("THÔN ĐÔNG")) == ["DEMO.HA.1"]
    assert codes(demo.search("dong thon")) == ["DEMO.HA.1"]  # every word, in any order
    assert codes(demo.search("ben song")) == ["DEMO.BS", "DEMO.BS.2"]


def test_search_limit_and_no_match(demo):
    assert len(demo.search("chi bo")) == 4
    assert codes(demo.search("chi bo", limit=2)) == ["DEMO.HA.1", "DEMO.HA.2"]
    assert demo.search("thon nam") == []
    assert demo.search("   ") == []


@pytest.mark.parametrize(
    "typed", ["HA-DONG", "ha-dong", "ha dong", "HADONG", "Hà Đông", "ha_dong", " ha.dong "]
)
def test_join_code_ignores_case_spaces_punctuation_and_diacritics(demo, typed):
    assert demo.by_join_code(typed).code == "DEMO.HA.1"


def test_unknown_join_code(demo):
    assert demo.by_join_code("HA-NAM") is None
    assert demo.by_join_code("HA-DONG-2") is None
    assert demo.by_join_code("") is None


def test_with_join_codes_fills_in_codes_and_keeps_the_rest(demo):
    renamed = demo.with_join_codes({"DEMO.HA.1": "XYZ789"})
    assert renamed.by_join_code("xyz789").code == "DEMO.HA.1"
    assert renamed.by_join_code("HA-DONG") is None
    assert renamed.by_join_code("HA-TAY").code == "DEMO.HA.2"
    assert demo.by_join_code("HA-DONG").code == "DEMO.HA.1"  # the original is unchanged


# -- other trees -------------------------------------------------------------------------


def test_a_tree_eight_levels_deep(tmp_path):
    lines = ["units:"]
    for depth in range(1, 9):
        lines.append(f"  - {{code: L{depth}, name: Cấp {depth}, level: cấp {depth}}}")
        if depth > 1:
            lines[-1] = lines[-1][:-1] + f", parent: L{depth - 1}}}"
    org = load_units(write(tmp_path / "deep.yaml", "\n".join(lines) + "\n"))

    assert codes(org.ancestors("L8")) == [f"L{d}" for d in range(1, 9)]
    assert org.path("L8") == "/L1/L2/L3/L4/L5/L6/L7/L8/"
    assert codes(org.subtree("L3")) == [f"L{d}" for d in range(3, 9)]
    assert org.is_within("L8", "L1") and not org.is_within("L1", "L8")
    assert org.full_name("L8").split(", ") == [f"Cấp {d}" for d in range(8, 1, -1)]
    assert codes(org.search("cap 8")) == ["L8"]


def test_csv_with_english_headers(tmp_path):
    path = write(
        tmp_path / "units.csv",
        "code,name,parent,level,join_code\n"
        "ROOT,Đảng bộ Huyện,,huyện,\n"
        "\n"
        "ROOT.A,Chi bộ A,ROOT,chi bộ,CB-A\n",
    )
    org = load_units(path)
    assert org.get("ROOT") == Unit("ROOT", "Đảng bộ Huyện", None, "huyện", "")
    assert org.get("ROOT.A") == Unit("ROOT.A", "Chi bộ A", "ROOT", "chi bộ", "CB-A")
    assert org.by_join_code("cb a").code == "ROOT.A"


def test_csv_with_vietnamese_headers_as_excel_saves_them(tmp_path):
    path = tmp_path / "đơn vị.CSV"
    path.write_text(
        "Mã,Tên,Mã cấp trên,Cấp,Mã tham gia\n"
        "X,Xã Hòa Bình,,xã,\n"
        'X.1,"Chi bộ ấp 1, xã Hòa Bình",X,chi bộ,AP-1\n',
        encoding="utf-8-sig",  # with the byte order mark Excel writes
    )
    org = load_units(path)
    assert codes(org.ordered()) == ["X", "X.1"]
    assert org.get("X.1") == Unit("X.1", "Chi bộ ấp 1, xã Hòa Bình", "X", "chi bộ", "AP-1")
    assert codes(org.search("hoa binh")) == ["X", "X.1"]


# -- errors with file and line -----------------------------------------------------------

HEADER = "code,name,parent\n"


def test_duplicate_code_is_reported(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nA,Cell A,R\nA,Cell A again,R\n")
    finding = only_finding(path)
    assert "unit 'A': duplicate code" in finding.message


def test_duplicate_code_is_reported_at_the_line_of_the_duplicate(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nA,Cell A,R\nA,Cell A again,R\n")
    assert only_finding(path).line == 4


def test_unknown_parent(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nA,Cell A,R\nB,Cell B,Q\n")
    finding = only_finding(path)
    assert finding.line == 4
    assert finding.message == "unit 'B': unknown parent 'Q'"


def test_cycle_is_reported_for_each_unit_in_it(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nA,Cell A,B\nB,Cell B,A\nC,Cell C,R\n")
    findings = findings_of(path)
    assert [(f.line, f.message) for f in findings] == [
        (3, "unit 'A': its parents form a cycle"),
        (4, "unit 'B': its parents form a cycle"),
    ]


def test_unit_that_is_its_own_parent(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nA,Cell A,A\n")
    assert only_finding(path).message == "unit 'A': its parents form a cycle"


def test_tree_without_a_top_unit(tmp_path):
    path = write(tmp_path / "u.yaml", "units:\n  - {code: A, name: A, parent: B}\n")
    messages = [f.message for f in findings_of(path)]
    assert "unit 'A': unknown parent 'B'" in messages
    assert "no top unit: exactly the top units have no parent" in messages


def test_code_with_spaces(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nCELL A,Cell A,R\n")
    finding = only_finding(path)
    assert finding.line == 3
    assert "unit 'CELL A': 'code' must be 1–32 of" in finding.message


def test_missing_name(tmp_path):
    path = write(tmp_path / "u.yaml", "units:\n  - code: R\n    name: Root\n  - code: A\n")
    finding = only_finding(path)
    assert (finding.line, finding.message) == (4, "unit 'A': missing 'name'")


def test_duplicate_join_code_even_when_written_differently(tmp_path):
    path = write(
        tmp_path / "u.yaml",
        "units:\n"
        "  - {code: R, name: Root, join_code: HA-DONG}\n"
        "  - {code: A, name: Cell A, parent: R, join_code: TAY-1}\n"
        "  - {code: B, name: Cell B, parent: R, join_code: ha_dong}\n",
    )
    finding = only_finding(path)
    assert finding.line == 4
    assert finding.message == "unit 'B': join_code 'ha_dong' is used twice"


def test_join_code_too_short(tmp_path):
    path = write(tmp_path / "u.yaml", "units:\n  - {code: R, name: Root, join_code: AB1}\n")
    finding = only_finding(path)
    assert finding.line == 2 and "'join_code' must be 4–32" in finding.message


def test_unknown_field_in_yaml(tmp_path):
    path = write(tmp_path / "u.yaml", "units:\n  - code: R\n    name: Root\n    parnet: X\n")
    finding = only_finding(path)
    assert finding.line == 4
    assert "unknown field 'parnet'" in finding.message


def test_csv_without_a_code_column(tmp_path):
    path = write(tmp_path / "u.csv", "name,parent\nRoot,\n")
    finding = only_finding(path)
    assert finding.line == 1
    assert "'code' and 'name' columns" in finding.message


def test_yaml_without_a_units_list(tmp_path):
    path = write(tmp_path / "u.yaml", "unit:\n  - {code: R, name: Root}\n")
    finding = only_finding(path)
    assert finding.line == 1 and "expected a top-level 'units:' list" in finding.message


def test_malformed_yaml(tmp_path):
    path = write(tmp_path / "u.yaml", "units:\n  - code: R\n    name: Root: Top\n")
    finding = only_finding(path)
    assert finding.line == 3 and "not valid YAML" in finding.message


def test_several_problems_are_reported_together(tmp_path):
    path = write(tmp_path / "u.csv", HEADER + "R,Root,\nbad code,X,R\nB,,R\nC,Cell C,Z\n")
    assert [f.line for f in findings_of(path)] == [3, 4, 5]
