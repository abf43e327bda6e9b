"""Rosters organizers upload as CSV or XLSX (bot/rosters.py)."""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from openpyxl import Workbook

from bot.rosters import (
    Rejected,
    RosterFile,
    RosterRow,
    normalise_phone,
    phone_hash,
    read_roster,
)

UNITS = {"CB01", "CB02"}
CATEGORIES = {
    "dang_vien": "dang_vien",
    "Đảng viên": "dang_vien",
    "doan_vien": "doan_vien",
    "Đoàn viên": "doan_vien",
}
HEADER = "Họ và tên,Số điện thoại,Mã đơn vị,Đối tượng"
BROKEN_XLSX = "Không đọc được tệp .xlsx: tệp bị hỏng hoặc không phải tệp Excel"


def read(content: bytes, filename: str = "danh_sach.csv", **limits) -> RosterFile:
    return read_roster(content, filename, units=UNITS, categories=CATEGORIES, **limits)


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join(lines).encode(encoding)


def xlsx_bytes(*rows: list) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def accepted(*rows: RosterRow) -> RosterFile:
    return RosterFile(rows=rows, rejected=(), problems=())


def problem(text: str) -> RosterFile:
    return RosterFile(rows=(), rejected=(), problems=(text,))


# Phone numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("0912-345-678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("(+84) 912-345-678", "+84912345678"),
        ("+84 0912 345 678", "+84912345678"),
        (" 0912\u00a0345\u00a0678 ", "+84912345678"),
        ("912345678", "+84912345678"),
        ("912345678.0", "+84912345678"),
        (912345678, "+84912345678"),
        (912345678.0, "+84912345678"),
        (84912345678, "+84912345678"),
        ("0338 123 456", "+84338123456"),
        ("842345678", "+84842345678"),  # 084... that lost its 0, not the country code
        ("(028) 3822 1234", "+842838221234"),
        ("2438221234", "+842438221234"),
        ("+84 24 3822 1234", "+842438221234"),
        ("0211 234 567", "+84211234567"),
    ],
)
def test_phone_forms_accepted(text, expected):
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "091234567",  # 9 digits with the 0: too short
        "09123456789",  # too long
        "0912abc678",
        "0912 345 678 ext 1",
        "+1 212 555 0100",  # another country
        "+84 91234567",
        "++84912345678",
        "0912+345678",
        "-0912345678",
        "0912-345-678-",
        "0112345678",  # mobiles start with 3, 5, 7, 8 or 9
        "0612345678",
        "0212345",  # landline too short
        "022123456789",  # landline too long
        "84",
        "912345678.5",
        912345678.5,
        -912345678,
        0,
        float("nan"),
        True,
    ],
)
def test_phone_forms_rejected(text):
    assert normalise_phone(text) is None


def test_phone_hash_is_hex_hmac_sha256():
    # Checked against: echo -n '+84912345678' | openssl dgst -sha256 -hmac secret-key
    assert phone_hash("+84912345678", b"secret-key") == (
        "8ae76c7fd171154352cd484b92925107849319b703d4cf100641c5437df6b975"
    )
    assert phone_hash("+84912345678", b"other-key") == (
        "69cb96840b8413b015b96a294d88eb358abd3e335f3bf08dba8e5b2f4154544e"
    )


# Headers and file formats


def test_csv_with_vietnamese_headers():
    content = csv_bytes(
        HEADER,
        "Nguyễn Văn An,0912 345 678,CB01,Đảng viên",
        "Trần Thị Bình,+84 983 111 222,CB02,Đoàn viên",
    )
    assert read(content) == accepted(
        RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),
        RosterRow(3, "Trần Thị Bình", "+84983111222", "CB02", "doan_vien"),
    )


@pytest.mark.parametrize(
    "header",
    [
        "full_name,phone,unit_code,category",
        "Name,Phone,Unit,Category",
        "HỌ TÊN,SĐT,ĐƠN VỊ,LOẠI",
        "ho ten,sdt,ma don vi,doi tuong",
        "Họ và tên:,Điện thoại,Mã Đơn Vị,Đối tượng",
        "Đối tượng,Mã đơn vị,Số điện thoại,Họ và tên",  # any order
    ],
)
def test_header_spellings(header):
    values = {"full_name": "Lê Văn Cường", "phone": "0912345678", "unit_code": "CB01"}
    values["category"] = "dang_vien"
    order = ["full_name", "phone", "unit_code", "category"]
    if header.startswith("Đối tượng"):
        order.reverse()
    content = csv_bytes(header, ",".join(values[field] for field in order))
    assert read(content) == accepted(
        RosterRow(2, "Lê Văn Cường", "+84912345678", "CB01", "dang_vien")
    )


def test_unit_code_column_preferred_over_unit_name_column():
    content = csv_bytes(
        "STT,Họ và tên,Đơn vị,Mã đơn vị,SĐT,Đối tượng",
        "1,Phạm Thị Dung,Chi bộ 1,CB01,0912345678,Đảng viên",
    )
    assert read(content) == accepted(
        RosterRow(2, "Phạm Thị Dung", "+84912345678", "CB01", "dang_vien")
    )


def test_csv_with_bom():
    content = b"\xef\xbb\xbf" + csv_bytes(HEADER, "Nguyễn Văn An,0912345678,CB01,Đảng viên")
    assert read(content) == accepted(
        RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien")
    )
    # The BOM is not a cell: a first line with nothing else on it is an empty row.
    content = b"\xef\xbb\xbf" + csv_bytes("", HEADER, "Nguyễn Văn An,0912345678,CB01,Đảng viên")
    assert read(content) == accepted(
        RosterRow(3, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien")
    )


def test_semicolon_csv():
    content = csv_bytes(
        "Họ và tên;Số điện thoại;Mã đơn vị;Đối tượng;Ghi chú",
        "Nguyễn Văn An;0912.345.678;CB01;Đảng viên;chuyển đến, tháng 3",
    )
    assert read(content) == accepted(
        RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien")
    )


def test_utf16_tab_separated_text_from_excel():
    content = csv_bytes(
        "Họ và tên\tSố điện thoại\tMã đơn vị\tĐối tượng",
        "Nguyễn Văn An\t912345678\tCB01\tĐảng viên",
        encoding="utf-16",
    )
    assert content.startswith(b"\xff\xfe")
    assert read(content, "danh_sach.csv") == accepted(
        RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien")
    )


def test_csv_not_in_utf8_is_a_problem():
    content = csv_bytes(HEADER, "Nguyen Van An,0912345678,CB01,dang_vien", encoding="utf-16-le")
    assert read(content) == problem("Không đọc được tệp .csv: hãy lưu tệp với mã hoá UTF-8")


def test_xlsx_with_phones_stored_as_numbers():
    content = xlsx_bytes(
        ["Họ và tên", "Số điện thoại", "Mã đơn vị", "Đối tượng"],
        ["Nguyễn Văn An", 912345678, "CB01", "Đảng viên"],
        ["Trần Thị Bình", 983111222.0, "CB02", "Đoàn viên"],
        ["Lê Văn Cường", "+84 (0) 912", "CB02", "Đoàn viên"],
        ["Phạm Thị Dung", 912345678.5, "CB02", "Đoàn viên"],
    )
    assert read(content, "danh_sach.xlsx") == RosterFile(
        rows=(
            RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),
            RosterRow(3, "Trần Thị Bình", "+84983111222", "CB02", "doan_vien"),
        ),
        rejected=(
            Rejected(4, "Số điện thoại không hợp lệ: +84 (0) 912"),
            Rejected(5, "Số điện thoại không hợp lệ: 912345678.5"),
        ),
        problems=(),
    )


def test_xlsx_with_a_wrong_size_claim_is_read_whole():
    # Some programs write a wrong <dimension>; read-only openpyxl would stop at it.
    content = xlsx_bytes(
        ["Họ và tên", "SĐT", "Mã đơn vị", "Đối tượng"],
        ["Nguyễn Văn An", "0912345678", "CB01", "Đảng viên"],
        ["Trần Thị Bình", "0983111222", "CB01", "Đảng viên"],
    )
    source, patched = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:D3"/>' in data
                data = data.replace(b'<dimension ref="A1:D3"/>', b'<dimension ref="A1:B2"/>')
            target.writestr(item, data)
    assert read(patched.getvalue(), "ds.xlsx") == accepted(
        RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),
        RosterRow(3, "Trần Thị Bình", "+84983111222", "CB01", "dang_vien"),
    )


def test_names_are_nfc_with_spaces_collapsed():
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Văn\tAn ")
    content = csv_bytes(
        "Họ và tên;SĐT;Mã đơn vị;Đối tượng", f"{decomposed};0912345678;CB01;Đảng viên"
    )
    (row,) = read(content).rows
    assert row.full_name == "Nguyễn Văn An"
    assert row.full_name == unicodedata.normalize("NFC", row.full_name)


# Rejected rows


def test_unknown_unit():
    content = csv_bytes(
        HEADER,
        "Nguyễn Văn An,0912345678,CB99,Đảng viên",
        "Trần Thị Bình,0983111222,cb01,Đảng viên",  # upper-case is tried too
        "Lê Văn Cường,0983111333, CB02 ,Đảng viên",
        "Phạm Thị Dung,0983111444,Cb 01,Đảng viên",
    )
    assert read(content) == RosterFile(
        rows=(
            RosterRow(3, "Trần Thị Bình", "+84983111222", "CB01", "dang_vien"),
            RosterRow(4, "Lê Văn Cường", "+84983111333", "CB02", "dang_vien"),
        ),
        rejected=(
            Rejected(2, "Mã đơn vị không có: CB99"),
            Rejected(5, "Mã đơn vị không có: Cb 01"),
        ),
        problems=(),
    )


def test_unit_codes_are_case_sensitive_as_given():
    content = csv_bytes(HEADER, "Nguyễn Văn An,0912345678,cb01,Đảng viên")
    result = read_roster(content, "a.csv", units={"cb01", "CB01"}, categories=CATEGORIES)
    assert result.rows == (RosterRow(2, "Nguyễn Văn An", "+84912345678", "cb01", "dang_vien"),)


def test_unknown_category_and_folded_spellings():
    content = csv_bytes(
        HEADER,
        "Nguyễn Văn An,0912345678,CB01,Quần chúng",
        "Trần Thị Bình,0983111222,CB01,ĐẢNG VIÊN",
        "Lê Văn Cường,0983111333,CB01,dang  vien",
        "Phạm Thị Dung,0983111444,CB01,DOAN_VIEN",
    )
    assert read(content) == RosterFile(
        rows=(
            RosterRow(3, "Trần Thị Bình", "+84983111222", "CB01", "dang_vien"),
            RosterRow(4, "Lê Văn Cường", "+84983111333", "CB01", "dang_vien"),
            RosterRow(5, "Phạm Thị Dung", "+84983111444", "CB01", "doan_vien"),
        ),
        rejected=(Rejected(2, "Đối tượng không hợp lệ: Quần chúng"),),
        problems=(),
    )


def test_duplicate_phones_name_the_first_line():
    content = csv_bytes(
        HEADER,
        "Nguyễn Văn An,0912 345 678,CB01,Đảng viên",
        "Trần Thị Bình,0983111222,CB01,Đảng viên",
        "Nguyễn Văn An,+84 912 345 678,CB02,Đảng viên",
        "Nguyễn V. An,912345678,CB01,Đoàn viên",
    )
    assert read(content) == RosterFile(
        rows=(
            RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),
            RosterRow(3, "Trần Thị Bình", "+84983111222", "CB01", "dang_vien"),
        ),
        rejected=(
            Rejected(4, "Số điện thoại trùng với dòng 2"),
            Rejected(5, "Số điện thoại trùng với dòng 2"),
        ),
        problems=(),
    )


def test_missing_values_long_names_and_all_reasons_of_a_row():
    longest = "A" * 100
    content = csv_bytes(
        HEADER,
        ",0912345678,CB01,Đảng viên",
        f"{longest}B,0983111222,CB01,Đảng viên",
        f"{longest},0983111333,CB01,Đảng viên",
        "Trần Thị Bình,,,",
        "Lê Văn Cường,12345,XX,Quần chúng",
    )
    assert read(content) == RosterFile(
        rows=(RosterRow(4, longest, "+84983111333", "CB01", "dang_vien"),),
        rejected=(
            Rejected(2, "Thiếu họ và tên"),
            Rejected(3, "Họ và tên dài quá 100 ký tự"),
            Rejected(5, "Thiếu số điện thoại; Thiếu mã đơn vị; Thiếu đối tượng"),
            Rejected(
                6,
                "Số điện thoại không hợp lệ: 12345; Mã đơn vị không có: XX; "
                "Đối tượng không hợp lệ: Quần chúng",
            ),
        ),
        problems=(),
    )


def test_formula_cells_in_xlsx_are_rejected():
    content = xlsx_bytes(
        ["STT", "Họ và tên", "SĐT", "Mã đơn vị", "Đối tượng"],
        ["=ROW()-1", "Nguyễn Văn An", "0912345678", "CB01", "Đảng viên"],  # STT is not read
        ["=ROW()-1", "Trần Thị Bình", '="0"&983111222', "CB01", "Đảng viên"],
        ["=ROW()-1", "=B2", "0983111333", "CB01", "=E2"],
    )
    assert read(content, "ds.xlsx") == RosterFile(
        rows=(RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),),
        rejected=(
            Rejected(3, "Ô chứa công thức, không được chấp nhận: SĐT"),
            Rejected(4, "Ô chứa công thức, không được chấp nhận: Họ và tên, Đối tượng"),
        ),
        problems=(),
    )


def test_formula_with_a_saved_result_is_still_rejected():
    # Excel saves a formula's last result next to it; that result is not trusted either.
    content = xlsx_bytes(
        ["Họ và tên", "SĐT", "Mã đơn vị", "Đối tượng"], ["An", "=A1", "CB01", "x"]
    )
    source, patched = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b"<f>A1</f><v></v>" in data
                data = data.replace(b"<f>A1</f><v></v>", b"<f>A1</f><v>912345678</v>")
            target.writestr(item, data)
    result = read(patched.getvalue(), "ds.xlsx")
    assert result.rejected == (Rejected(2, "Ô chứa công thức, không được chấp nhận: SĐT"),)


def test_formula_text_in_csv_is_rejected():
    content = csv_bytes(HEADER, '"=HYPERLINK(""http://x"",""An"")",0912345678,CB01,Đảng viên')
    assert read(content) == RosterFile(
        rows=(),
        rejected=(Rejected(2, "Ô chứa công thức, không được chấp nhận: Họ và tên"),),
        problems=(),
    )


# Row numbers


def test_xlsx_row_numbers_as_seen_in_the_spreadsheet():
    content = xlsx_bytes(
        [],
        [None, None],
        ["Họ và tên", "Số điện thoại", "Mã đơn vị", "Đối tượng"],
        ["Nguyễn Văn An", "0912345678", "CB01", "Đảng viên"],
        [],
        [None, "", None, None],
        ["Trần Thị Bình", "0912345678", "CB01", "Đảng viên"],
    )
    assert read(content, "Danh Sach.XLSX") == RosterFile(
        rows=(RosterRow(4, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),),
        rejected=(Rejected(7, "Số điện thoại trùng với dòng 4"),),
        problems=(),
    )


def test_csv_row_numbers_count_blank_lines_and_records_not_text_lines():
    content = csv_bytes(
        "",
        ",,,",
        HEADER,
        "",
        '"Nguyễn Văn\nAn",0912345678,CB01,Đảng viên',  # one spreadsheet row over two lines
        "Trần Thị Bình,0912345678,CB01,Đảng viên",
    )
    assert read(content) == RosterFile(
        rows=(RosterRow(5, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien"),),
        rejected=(Rejected(6, "Số điện thoại trùng với dòng 5"),),
        problems=(),
    )


def test_rows_with_only_unused_columns_are_skipped():
    content = csv_bytes(
        "STT,Họ và tên,SĐT,Mã đơn vị,Đối tượng",
        "1,Nguyễn Văn An,0912345678,CB01,Đảng viên",
        "2,,,,",
        "3,,,,",
    )
    assert read(content) == accepted(
        RosterRow(2, "Nguyễn Văn An", "+84912345678", "CB01", "dang_vien")
    )


# File-level problems


def test_missing_columns_are_listed():
    content = csv_bytes("", "Họ và tên,Điện thoại", "Nguyễn Văn An,0912345678")
    assert read(content) == problem("Thiếu cột mã đơn vị, đối tượng ở dòng tiêu đề (dòng 2)")


def test_a_title_row_is_taken_as_the_header():
    content = xlsx_bytes(["DANH SÁCH ĐẢNG VIÊN"], ["Họ và tên", "SĐT", "Mã đơn vị", "Đối tượng"])
    assert read(content, "ds.xlsx") == problem(
        "Thiếu cột họ và tên, số điện thoại, mã đơn vị, đối tượng ở dòng tiêu đề (dòng 1)"
    )


def test_header_only_and_empty_files():
    assert read(csv_bytes(HEADER)) == RosterFile(rows=(), rejected=(), problems=())
    assert read(b"") == problem("Tệp không có dữ liệu")
    assert read(csv_bytes("", " , , ", "")) == problem("Tệp không có dữ liệu")
    assert read(xlsx_bytes(), "ds.xlsx") == problem("Tệp không có dữ liệu")


def test_file_over_the_size_limit_is_not_parsed():
    assert read(b"\x00" * 5_000_001, "ds.xlsx") == problem("Tệp quá lớn: chỉ nhận tệp đến 5 MB")
    assert read(b"x" * 1_500_001, max_bytes=1_500_000) == problem(
        "Tệp quá lớn: chỉ nhận tệp đến 1,5 MB"
    )
    content = csv_bytes(HEADER, "Nguyễn Văn An,0912345678,CB01,Đảng viên")
    assert len(read(content, max_bytes=len(content)).rows) == 1
    assert read(content, max_bytes=len(content) - 1).problems != ()


def test_too_many_rows():
    rows = [f"Người {i},09{i:08d},CB01,Đảng viên" for i in range(1, 1502)]
    assert read(csv_bytes(HEADER, *rows), max_rows=1500) == problem(
        "Tệp có quá nhiều dòng: chỉ nhận đến 1.500 dòng dữ liệu"
    )
    assert len(read(csv_bytes(HEADER, *rows[:1500]), max_rows=1500).rows) == 1500


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _damaged_sheet() -> bytes:
    content = xlsx_bytes(["Họ và tên", "SĐT", "Mã đơn vị", "Đối tượng"], ["An", "0912345678"])
    source = zipfile.ZipFile(io.BytesIO(content))
    files = {item.filename: source.read(item) for item in source.infolist()}
    files["xl/worksheets/sheet1.xml"] = files["xl/worksheets/sheet1.xml"][:-200]
    return _zip(files)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a zip at all",
        b"PK\x03\x04" + b"\x00" * 100,
        xlsx_bytes(["Họ và tên", "SĐT"])[:-300],  # truncated download
        _zip({"hello.txt": b"hi"}),  # a zip, but not a workbook
        _damaged_sheet(),  # a workbook whose sheet XML is cut short
    ],
)
def test_corrupt_xlsx_is_a_problem(content):
    assert read(content, "ds.xlsx") == problem(BROKEN_XLSX)


@pytest.mark.parametrize("filename", ["ds.txt", "ds.xls", "ds.csv.exe", "ds", "csv", ""])
def test_only_csv_and_xlsx_files(filename):
    content = csv_bytes(HEADER, "Nguyễn Văn An,0912345678,CB01,Đảng viên")
    assert read(content, filename) == problem("Chỉ nhận tệp .csv hoặc .xlsx")


def test_broken_csv_is_a_problem():
    content = csv_bytes(HEADER, '"Nguyễn Văn An' + "x" * 200_000)  # over csv's field limit
    assert read(content) == problem("Không đọc được tệp .csv: định dạng không hợp lệ")
