"""Rosters, study sessions, feedback and reports, through the conversation core and the store."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import struct
from collections import defaultdict
from contextlib import closing
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from bot.core.messages import Document, Incoming, Kind
from bot.features.reports import parse_period, parse_weekly
from bot.reports.render import Words, report_csv, report_png, report_xlsx, summary_text
from bot.reports.service import make_report
from bot.rosters import phone_hash
from bot.store.activity import day_number

from .conftest import Chat, render_push, rows

# -- helpers ----------------------------------------------------------------------------------


def member_id(app, name: str) -> int:
    return rows(app, "SELECT id FROM members WHERE full_name = ?", name)[0][0]


def xlsx_roster(lines: list[list]) -> bytes:
    book = Workbook()
    book.active.append(["Họ và tên", "Số điện thoại", "Mã đơn vị", "Đối tượng"])
    for line in lines:
        book.active.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def send_file(chat: Chat, filename: str, content: bytes) -> None:
    await chat._handle(
        Incoming(
            chat.channel, chat.user_id, Kind.FILE, text=filename, file=Document(filename, content)
        )
    )


@pytest.fixture
async def organizer(app) -> Chat:
    """An organizer of DEMO.HA (Hòa An commune: cells HA-DONG and HA-TAY)."""
    chat = Chat(app, "org")
    await chat.register(name="Lê Văn Tổ", code="HOA-AN")
    await app.store.grant(member_id(app, "Lê Văn Tổ"), "DEMO.HA", actor="test", now=0)
    return chat


# -- parsing ----------------------------------------------------------------------------------


def test_periods_and_weekly_times_are_read_as_typed():
    today = date(2026, 11, 29)
    assert parse_period("1/11/2026 - 30/11/2026", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert parse_period("1/11 đến 15/11", today) == (date(2026, 11, 1), date(2026, 11, 15))
    assert parse_period("30/11 - 1/11", today) is None
    assert parse_period("31/11 - 1/12", today) is None
    assert parse_weekly("thứ hai 8:00") == (0, 480)
    assert parse_weekly("T6 16h") == (4, 960)
    assert parse_weekly("Chủ nhật 20 giờ") == (6, 1200)
    assert parse_weekly("monday 7:30") == (0, 450)
    assert parse_weekly("8:00") is None
    assert parse_weekly("thứ hai 25:00") is None


# -- reports against an independent count -----------------------------------------------------


async def test_report_figures_match_an_independent_count(app, clock):
    """Hand-built activity: a member who moved unit mid-period, one who erased their data,
    a roster-only attendee, rows outside the period and outside the scope."""
    store_rows = []  # (member_id, unit, category, kind, day)
    rng_people = {
        # person: [(unit, category, kind, day), ...]
        1: [("DEMO.HA.1", "dang_vien", "lesson_read", date(2026, 5, 2))] * 3,
        2: [  # moved from HA.1 to HA.2 on 5/5
            ("DEMO.HA.1", "doan_vien", "lesson_read", date(2026, 5, 3)),
            ("DEMO.HA.2", "doan_vien", "practice_answer", date(2026, 5, 6)),
        ],
        -(2**40) - 7: [("DEMO.HA.2", "dang_vien", "contest_entry", date(2026, 5, 4))] * 2,
        -3: [("DEMO.HA.1", "quan_chung", "session_attendance", date(2026, 5, 8))],
        4: [
            ("DEMO.HA.2", "dang_vien", "lesson_read", date(2026, 4, 20)),  # before the period
            ("DEMO.BS.1", "dang_vien", "lesson_read", date(2026, 5, 5)),  # outside the scope
            ("DEMO.HA.2", "dang_vien", "commitment_written", date(2026, 5, 9)),
        ],
    }
    for person, items in rng_people.items():
        for unit, category, kind, day in items:
            store_rows.append((person, unit, category, kind, day))
    with closing(sqlite3.connect(app.settings.database.path)) as conn, conn:
        conn.executemany(
            "INSERT INTO activity (member_id, unit_code, category, kind, ref, at, day)"
            " VALUES (?, ?, ?, ?, '', 0, ?)",
            [(p, u, c, k, day_number(d)) for p, u, c, k, d in store_rows],
        )
        conn.executemany(
            "INSERT INTO roster (unit_code, category, full_name, phone_hash, imported_at,"
            " updated_at) VALUES (?, ?, ?, ?, 0, 0)",
            [
                ("DEMO.HA.1", "dang_vien", "A", "h1"),
                ("DEMO.HA.1", "doan_vien", "B", "h2"),
                ("DEMO.HA.1", "quan_chung", "C", "h3"),
                ("DEMO.HA.2", "dang_vien", "D", "h4"),
            ],
        )
    start, end = date(2026, 5, 1), date(2026, 5, 10)
    report = await make_report(app.services, "DEMO.HA", start, end)

    inside = [r for r in store_rows if start <= r[4] <= end and r[1].startswith("DEMO.HA.")]
    by_unit = defaultdict(list)
    for r in inside:
        by_unit[r[1]].append(r)
    lines = {line.code: line for line in report.lines}
    for unit, items in by_unit.items():
        assert lines[unit].all.count.entries == len(items)
        assert lines[unit].all.count.people == len({r[0] for r in items})
    assert report.total.all.count.entries == len(inside) == 9
    assert report.total.all.count.people == len({r[0] for r in inside}) == 5
    assert lines["DEMO.HA.1"].all.expected == 3 and lines["DEMO.HA.2"].all.expected == 1
    assert lines["DEMO.HA.1"].from_roster
    party = report.total.by_category["dang_vien"]
    assert (party.count.entries, party.count.people, party.expected) == (6, 3, 2)
    assert report.by_kind["lesson_read"].entries == 4
    assert report.by_kind["contest_entry"].people == 1  # the erased member, counted once
    assert sum(count.entries for _, count in report.weeks) == 9

    words = Words(app.services.texts, "vi")
    text = summary_text(report, words)
    assert "9 lượt người tham dự, 5 người" in text
    assert "đảng viên 6 lượt, 3 người (đạt 150,00%)" in text

    book = load_workbook(io.BytesIO(report_xlsx(report, words)))
    sheet = book["Theo đơn vị"]
    assert [c.value for c in sheet[2]][:5] == ["Đơn vị", "Lượt", "Người", "Danh sách", "Tỷ lệ"]
    values = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=3)}
    assert values["Chi bộ thôn Đông (minh họa)"][1:4] == [5, 3, 3]
    assert sheet.freeze_panes == "B3"
    assert book.sheetnames == ["Theo đơn vị", "Theo hoạt động", "Theo tuần"]

    png = report_png(report, words)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 900)


async def test_an_empty_period_says_so(app):
    report = await make_report(app.services, "DEMO.BS", date(2026, 1, 1), date(2026, 1, 7))
    text = summary_text(report, Words(app.services.texts, "vi"))
    assert "0 lượt người tham dự, 0 người" in text and "Không có hoạt động nào" in text


def test_csv_cells_that_look_like_formulas_are_neutralised(app):
    from bot.reports.model import Cell, Line, Report
    from bot.store.reports import Count

    line = Line("X", '=HYPERLINK("x")', Cell(Count(1, 1), 1), {}, True)
    report = Report(
        "X", "=cmd", date(2026, 1, 1), date(2026, 1, 1), (), (), (line,), line, {}, {}, ()
    )
    content = report_csv(report, Words(app.services.texts, "vi")).decode("utf-8-sig")
    assert "'=HYPERLINK" in content and "\n=HYPERLINK" not in content


async def test_charts_drawn_in_threads_at_once_come_out_alike(app):
    """The chat draws charts in worker threads; matplotlib's global pyplot state would mix
    figures drawn at once, its object API does not."""
    from bot.reports.model import Cell, Line, Report
    from bot.store.reports import Count

    words = Words(app.services.texts, "vi")
    reports = []
    for n in range(4):
        lines = tuple(
            Line(f"U{i}", f"Đơn vị {i}", Cell(Count(10 * i + n, i + n), 20), {}, True)
            for i in range(1, 6)
        )
        weeks = tuple((date(2026, 5, 1 + 7 * w), Count(w + n, w + n)) for w in range(3))
        reports.append(
            Report("T", f"Tổng {n}", date(2026, 5, 1), date(2026, 5, 21), (), (), lines,
                   lines[0], {}, {}, weeks)
        )  # fmt: skip
    alone = [report_png(report, words) for report in reports]
    together = await asyncio.gather(
        *(asyncio.to_thread(report_png, report, words) for report in reports)
    )
    assert together == alone and len(set(alone)) == 4


# -- authorisation ------------------------------------------------------------------------------


async def test_reports_are_for_organizers_of_the_subtree_only(app, organizer):
    member = Chat(app, "u1")
    await member.register()
    await member.send("/baocao")
    assert "không có quyền" in member.text
    await organizer.send("/baocao")
    labels = [c.label for c in organizer.last_with_choices().choices]
    assert all("Bến Sông" not in label for label in labels)
    await organizer.press("Hòa An")
    await organizer.press("30 ngày")
    assert "Báo cáo tham gia" in organizer.text
    await organizer.press("Tệp Excel")
    assert organizer.replies[0].document.filename.endswith(".xlsx")
    await organizer.press("Biểu đồ")
    assert organizer.replies[0].document.photo
    logged = rows(app, "SELECT actor, action, scope FROM audit_log WHERE action = 'report'")
    assert [(a, s.split()[0], s.split()[-1]) for a, _, s in logged] == [
        ("console:org", "DEMO.HA", "text"),
        ("console:org", "DEMO.HA", "xlsx"),
        ("console:org", "DEMO.HA", "png"),
    ]
    assert all("lượt" not in s for _, _, s in logged)  # the scope only, never figures
    # Rights taken away: the open buttons no longer work.
    await app.store.revoke(member_id(app, "Lê Văn Tổ"), "DEMO.HA", actor="test", now=0)
    await organizer.press("Tệp Excel")
    assert "không có quyền" in organizer.text and organizer.replies[0].document is None


async def test_chart_and_workbook_show_the_summarys_figures_for_ten_minutes(
    app, organizer, clock, monkeypatch
):
    reads = []
    figures = app.store.reports.figures

    async def counted(*args, **kwargs):
        reads.append(args)
        return await figures(*args, **kwargs)

    monkeypatch.setattr(app.store.reports, "figures", counted)
    await organizer.send("/baocao")
    await organizer.press("Hòa An")
    await organizer.press("30 ngày")
    await organizer.press("Tệp Excel")
    await organizer.press("Biểu đồ")
    assert len(reads) == 1  # the summary's figures, kept for its buttons
    clock.advance(minutes=11)
    await organizer.press("Tệp Excel")
    assert len(reads) == 2 and organizer.replies[0].document.filename.endswith(".xlsx")


async def test_weekly_reports_arrive_at_the_chosen_time_while_rights_last(app, organizer, clock):
    await organizer.send("/baocao")
    await organizer.press("Hòa An")
    await organizer.press("7 ngày")
    await organizer.press("hằng tuần")
    await organizer.send("thứ hai 9:00")
    assert "thứ Hai lúc 09:00" in organizer.text
    clock.set(datetime(2026, 5, 11, 1, 59, tzinfo=UTC))  # Monday 08:59 in Hà Nội
    for job in app.conversation.router.minute_jobs:
        await job()
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'weekly_report'") == [(0,)]
    clock.set(datetime(2026, 5, 11, 2, 0, tzinfo=UTC))
    for job in app.conversation.router.minute_jobs:
        await job()
        await job()  # twice: still one
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'weekly_report'") == [(1,)]
    pushed = await render_push(app, "weekly_report", "org")
    assert "Báo cáo tham gia" in pushed[0].text and pushed[1].document.photo
    await app.store.revoke(member_id(app, "Lê Văn Tổ"), "DEMO.HA", actor="test", now=0)
    assert await render_push(app, "weekly_report", "org") == []


# -- rosters ---------------------------------------------------------------------------------


async def test_a_roster_sent_to_the_bot_is_previewed_then_loaded(app, organizer):
    content = xlsx_roster(
        [
            ["Nguyễn Văn An", "0912 345 678", "DEMO.HA.1", "Đảng viên"],
            ["Trần Thị Bình", "+84 987 654 321", "DEMO.HA.2", "Đoàn viên"],
            ["Phạm Văn Ba", "12345", "DEMO.HA.1", "Đảng viên"],
            ["Võ Thị Bốn", "0911 111 111", "DEMO.BS.1", "Đảng viên"],  # not their subtree
            ["Người Thứ Năm", "=1+1", "DEMO.HA.1", "Đảng viên"],
        ]
    )
    await organizer.send("/danhsach")
    await send_file(organizer, "danh-sach.xlsx", content)
    text = organizer.text
    assert "Thêm mới: 2" in text and "Bỏ qua: 3" in text
    assert "dòng 4:" in text and "dòng 5:" in text and "dòng 6:" in text
    assert rows(app, "SELECT count(*) FROM roster") == [(0,)]  # nothing before confirming
    await organizer.press("Nạp 2")
    assert rows(app, "SELECT full_name, unit_code, category FROM roster ORDER BY id") == [
        ("Nguyễn Văn An", "DEMO.HA.1", "dang_vien"),
        ("Trần Thị Bình", "DEMO.HA.2", "doan_vien"),
    ]
    hashes = rows(app, "SELECT phone_hash FROM roster")
    assert all("0912" not in h and "84912" not in h for (h,) in hashes)  # never in clear
    assert rows(app, "SELECT action FROM audit_log WHERE action = 'roster_import'") == [
        ("roster_import",)
    ]
    # The same file again updates instead of adding.
    await send_file(organizer, "danh-sach.xlsx", content)
    assert "Thêm mới: 0" in organizer.text and "Cập nhật: 2" in organizer.text


async def test_rosters_are_refused_from_members_and_when_broken(app, organizer):
    member = Chat(app, "u1")
    await member.register()
    await send_file(member, "x.csv", b"a,b\n1,2\n")
    assert "chỉ nhận tệp danh sách từ người phụ trách" in member.text
    await send_file(organizer, "x.csv", "Tên,Mã\nA,B\n".encode())
    assert "Không đọc được danh sách" in organizer.text
    await organizer._handle(Incoming("console", "org", Kind.FILE, text="big.xlsx", file=None))
    assert "quá lớn" in organizer.text


async def test_a_member_matches_the_roster_by_phone_and_counts_follow(app, organizer, clock):
    with closing(sqlite3.connect(app.settings.database.path)) as conn, conn:
        conn.execute(
            "INSERT INTO roster (id, unit_code, category, full_name, phone_hash, imported_at,"
            " updated_at) VALUES (7, 'DEMO.HA.2', 'doan_vien', 'Nguyễn Văn An', ?, 0, 0)",
            (phone_hash("+84912345678", app.services.phone_key),),
        )
    # Before registering, an organizer marked them at a session (roster-only person).
    await organizer.send("/hoinghi")
    await organizer.press("Tạo hội nghị")
    await organizer.send("Hội nghị học tập chuyên đề")
    await organizer.press("Hòa An")
    await organizer.send("9:00")
    await organizer.send("Hội trường xã")
    await organizer.press("Tạo hội nghị")
    await organizer.press("Điểm danh hộ")
    await organizer.send("van an")
    await organizer.press("Nguyễn Văn An")
    assert rows(app, "SELECT member_id, kind FROM activity WHERE kind = 'session_attendance'") == [
        (-7, "session_attendance")
    ]

    member = Chat(app, "u1")
    await member.register()  # registers in HA-DONG as a party member
    await member.send("/xacminh")
    assert member.replies[-1].ask_contact
    await member.send("0912.345.679")
    assert "Không tìm thấy số này" in member.text
    await member.send("/xacminh")
    await member.send("0912 345 678")
    assert "Nguyễn Văn An" in member.text and "Chi bộ thôn Tây" in member.text
    await member.press("Đúng, là tôi")
    me = member_id(app, "Nguyễn Văn An")
    assert rows(app, "SELECT member_id FROM roster WHERE id = 7") == [(me,)]
    # The roster's unit and category win, and the earlier attendance is now theirs.
    assert rows(app, "SELECT unit_code, category FROM members WHERE id = ?", me) == [
        ("DEMO.HA.2", "doan_vien")
    ]
    assert rows(app, "SELECT member_id FROM activity WHERE kind = 'session_attendance'") == [(me,)]


async def test_a_shared_contact_must_be_ones_own(app):
    member = Chat(app, "u1")
    await member.register()
    await member._handle(Incoming("console", "u1", Kind.CONTACT, text=""))
    assert "số điện thoại của chính mình" in member.text


# -- study sessions --------------------------------------------------------------------------


async def create_session(organizer: Chat, when: str = "9:00") -> str:
    await organizer.send("/hoinghi")
    await organizer.press("Tạo hội nghị")
    await organizer.send("Hội nghị học tập chuyên đề")
    await organizer.press("Hòa An")
    await organizer.send(when)
    await organizer.send("Hội trường xã")
    await organizer.press("Tạo hội nghị")
    return organizer.text.split("Mã điểm danh: ")[1].split()[0]


async def test_members_check_in_once_within_the_window_and_unit(app, organizer, clock):
    code = await create_session(organizer, "10:00")  # 10:00 on 10/5; now is 08:00
    member, far = Chat(app, "u1"), Chat(app, "u3")
    await member.register()
    await far.register(name="Võ Thị Bốn", code="BS-KP1")
    await member.send(f"/diemdanh {code}")
    assert "Chưa đến giờ điểm danh" in member.text
    clock.advance(hours=1, minutes=30)
    await member.send(f"/diemdanh {code.lower()}")
    assert "Đã điểm danh" in member.text
    await member.send(f"/start hn-{code}")  # the deep link, again
    assert "đã điểm danh" in member.text
    await far.send(f"/diemdanh {code}")
    assert "không thuộc đơn vị của bạn" in far.text
    await member.send("/diemdanh XXXXXX")
    assert "Không có hội nghị nào có mã XXXXXX" in member.text
    assert rows(app, "SELECT count(*) FROM activity WHERE kind = 'session_attendance'") == [(1,)]
    clock.advance(hours=6)
    await far.send(f"/diemdanh {code}")
    assert "không thuộc đơn vị" in far.text
    await Chat(app, "u4").register(name="Hà Văn Năm")
    late = Chat(app, "u4")
    await late.send(f"/diemdanh {code}")
    assert "đã kết thúc điểm danh" in late.text


# -- feedback ----------------------------------------------------------------------------------


async def test_feedback_reaches_the_organizers_and_the_answer_comes_back(app, organizer):
    member = Chat(app, "u1")
    await member.register()
    await member.send("/phananh")
    await member.press("Gửi phản ánh mới")
    await member.send("ngắn")
    assert "từ 10 đến 1500" in member.text
    await member.send("Xin hỏi lịch sinh hoạt chi bộ tháng sau là ngày nào ạ?")
    await member.press("ẩn danh")
    assert "Đã gửi ẩn danh phản ánh #1" in member.text
    assert rows(app, "SELECT kind FROM activity WHERE kind = 'feedback_sent'") == [
        ("feedback_sent",)
    ]
    pushed = await render_push(app, "feedback_new", "org")
    assert "lịch sinh hoạt" in pushed[0].text
    await organizer.send(pushed[0].choices[0].key)
    assert "(ẩn danh)" in organizer.text and "Nguyễn Văn An" not in organizer.text
    await organizer.press("Trả lời")
    await organizer.send("Ngày 5 hằng tháng, tại nhà văn hóa thôn.")
    await organizer.press("Gửi câu trả lời")
    assert "Đã gửi câu trả lời" in organizer.text
    answer = await render_push(app, "feedback_answer", "u1")
    assert "Ngày 5 hằng tháng" in answer[0].text
    assert rows(app, "SELECT status FROM feedback") == [("answered",)]
    # A second answer (another organizer, a stale screen) is refused.
    await organizer.send("/phananh 1")
    assert all(c.label != "Trả lời" for r in organizer.replies for c in r.choices)


async def test_members_cannot_see_others_feedback(app, organizer):
    one, two = Chat(app, "u1"), Chat(app, "u2")
    await one.register()
    await two.register(name="Trần Thị Bình")
    await one.send("/phananh")
    await one.press("Gửi phản ánh mới")
    await one.send("Câu hỏi riêng của tôi về sinh hoạt chi bộ.")
    await one.press("kèm tên")
    await two.send("/phananh 1")
    assert "Không tìm thấy phản ánh này" in two.text


async def test_erasing_keeps_counts_and_removes_what_names_the_person(app, organizer, clock):
    with closing(sqlite3.connect(app.settings.database.path)) as conn, conn:
        conn.execute(
            "INSERT INTO roster (id, unit_code, category, full_name, phone_hash, imported_at,"
            " updated_at) VALUES (3, 'DEMO.HA.1', 'dang_vien', 'Nguyễn Văn An', ?, 0, 0)",
            (phone_hash("+84912345678", app.services.phone_key),),
        )
    code = await create_session(organizer, "8:30")
    member = Chat(app, "u1")
    await member.register()
    await member.send("/xacminh")
    await member.send("0912345678")
    await member.press("Đúng, là tôi")
    await member.send(f"/diemdanh {code}")
    await member.send("/phananh")
    await member.press("Gửi phản ánh mới")
    await member.send("Một câu hỏi có tên người gửi kèm theo.")
    await member.press("kèm tên")
    before = await make_report(app.services, "DEMO.HA", date(2026, 5, 10), date(2026, 5, 10))

    await member.send("/xoadulieu")
    await member.press("Xóa vĩnh viễn")
    assert rows(app, "SELECT count(*) FROM feedback") == [(0,)]
    assert rows(app, "SELECT member_id FROM roster") == [(None,)]
    ((person,),) = rows(app, "SELECT person FROM session_attendance")
    stand_ins = {m for (m,) in rows(app, "SELECT DISTINCT member_id FROM activity")}
    assert person <= -(2**40) and stand_ins == {person}
    after = await make_report(app.services, "DEMO.HA", date(2026, 5, 10), date(2026, 5, 10))
    assert after.total.all.count == before.total.all.count  # still one person, same entries


async def test_an_organizer_matches_a_member_to_the_roster_by_hand(app, organizer):
    with closing(sqlite3.connect(app.settings.database.path)) as conn, conn:
        conn.execute(
            "INSERT INTO roster (id, unit_code, category, full_name, phone_hash, imported_at,"
            " updated_at) VALUES (5, 'DEMO.HA.1', 'dang_vien', 'Nguyễn Văn An', 'h', 0, 0)"
        )
    member = Chat(app, "u1")
    await member.register()
    await organizer.send("/danhsach")
    assert "2 thành viên chưa khớp" in organizer.text  # the member and the organizer
    await organizer.press("Khớp tay")
    await organizer.press("Nguyễn Văn An")
    await organizer.press("Nguyễn Văn An · Đảng viên")
    assert "Đã khớp Nguyễn Văn An" in organizer.text
    assert rows(app, "SELECT member_id FROM roster") == [(member_id(app, "Nguyễn Văn An"),)]
    assert rows(app, "SELECT action FROM audit_log WHERE action = 'roster_link'") == [
        ("roster_link",)
    ]
    # A member of another subtree is out of reach.
    far = Chat(app, "u3")
    await far.register(name="Võ Thị Bốn", code="BS-KP1")
    await organizer.send("/danhsach")
    await organizer.press("Khớp tay")
    labels = [c.label for c in organizer.last_with_choices().choices]
    assert all("Võ Thị Bốn" not in label for label in labels)
