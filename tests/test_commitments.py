"""The yearly commitment: writing it, the deadline, check-ins, reminders, the year-end report."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import docx
import pytest

from bot.app import open_app
from bot.config import load_settings
from bot.delivery.service import Delivery

from .conftest import ROOT, Chat, rows
from .test_delivery import Recorder

OWN = "Mỗi tháng trồng một cây xanh ở khu dân cư"


async def write_commitment(chat: Chat) -> None:
    """Pick suggestions 1 and 2 and one typed item, then save."""
    await chat.send("/camket")
    await chat.press("⬜ 1")
    await chat.press("⬜ 2")
    await chat.send(OWN)
    await chat.press("Xong")
    await chat.press("Lưu cam kết")
    assert "Đã lưu bản cam kết năm 2026" in chat.text, chat.text


async def test_a_member_writes_a_commitment_from_suggestions_and_own_words(app, chat):
    await chat.register()
    await chat.send("/camket")
    assert "Gợi ý cho Đảng viên" in chat.text and "sinh hoạt chi bộ" in chat.text
    await chat.press("⬜ 1")
    await chat.press("⬜ 2")
    await chat.press("Xong")
    assert "cần từ 3 đến 7" in chat.text or "từ 3 đến 7 việc" in chat.text  # only two so far
    await chat.send("ngắn")
    assert "quá ngắn" in chat.text
    await chat.send(OWN)
    assert f"3. ✅ {OWN}" not in chat.text and f"✅ {OWN}" in chat.text
    await chat.press("Xong")
    assert "Bản cam kết năm 2026:" in chat.text and OWN in chat.text
    await chat.press("Lưu cam kết")
    assert "31/3/2026" in chat.text
    (items,) = rows(app, "SELECT items FROM commitments")[0]
    assert OWN in items and items.count('"') == 6  # three items
    assert rows(app, "SELECT kind, ref FROM activity WHERE kind LIKE 'commitment%'") == [
        ("commitment_written", "2026")
    ]


async def test_no_more_than_seven_items(app, chat):
    await chat.register()
    await chat.send("/camket")
    for number in range(1, 9):
        await chat.press(f"⬜ {number}")
    assert "Đã chọn 7 việc" in chat.text
    await chat.send(OWN)
    assert "Đã đủ 7 việc" in chat.text


async def test_editing_is_possible_until_the_deadline_only(app, chat, clock):
    clock.set(datetime(2026, 2, 10, 3, 0, tzinfo=UTC))
    await chat.register()
    await write_commitment(chat)
    await chat.send("/camket")
    await chat.press("Sửa cam kết")
    assert "✅ 1" in [c.label for c in chat.last_with_choices().choices]  # what was chosen
    await chat.press("✅ 1")
    await chat.press("⬜ 3")
    await chat.press("Xong")
    await chat.press("Lưu cam kết")
    assert rows(app, "SELECT count(*) FROM activity WHERE kind = 'commitment_written'") == [(1,)]
    clock.set(datetime(2026, 4, 2, 3, 0, tzinfo=UTC))
    await chat.send("/camket")
    assert "Sửa cam kết" not in [c.label for c in chat.last_with_choices().choices]


async def test_a_unit_can_have_its_own_deadline_and_check_in_rhythm(env, clock, tmp_path):
    units = tmp_path / "units.yaml"
    text = (ROOT / "content" / "demo" / "units.yaml").read_text("utf-8")
    text = text.replace(
        "    join_code: HOA-AN\n", "    join_code: HOA-AN\n    commitment_deadline: 30/6\n"
    )
    text = text.replace(
        "    join_code: BEN-SONG\n", "    join_code: BEN-SONG\n    checkin_months: 3\n"
    )
    units.write_text(text, "utf-8")
    settings = load_settings(None, environ={**env, "BOT_ORGANISATION_UNITS_FILE": str(units)})
    clock.set(datetime(2026, 5, 25, 12, 30, tzinfo=UTC))  # 19:30 on 25 May
    async with open_app(settings, clock=clock) as app:
        dong = Chat(app, "dong")
        await dong.register(code="HA-DONG")
        await write_commitment(dong)
        assert "30/6/2026" in dong.text  # inherited from Đảng bộ xã Hòa An
        song = Chat(app, "song")
        await song.register(name="Trần Văn Sông", code="BS-KP1")
        await write_commitment(song)
        await Delivery(app, {"console": Recorder()}).every_minute()
        assert rows(app, "SELECT external_id FROM outbox WHERE kind = 'checkin'") == [("dong",)]


async def test_checking_in_item_by_item_with_a_note(app, chat):
    await chat.register()
    await write_commitment(chat)
    await chat.send("/camket")
    await chat.press("Cập nhật tiến độ")
    assert "việc 1/3" in chat.text
    await chat.press("Đã làm")
    await chat.send("Đã dự đủ 2 buổi")  # a note for item 2, typed before its answer
    assert "Ghi chú: Đã dự đủ 2 buổi" in chat.text and "việc 2/3" in chat.text
    await chat.send("dang lam")  # typed label, no diacritics
    await chat.press("Chưa làm")
    assert "✅ 1 · ⏳ 1 · ⬜ 1" in chat.text
    assert rows(app, "SELECT period, item, status, note FROM commitment_checkins") == [
        ("2026-05", 0, "done", ""),
        ("2026-05", 1, "in_progress", "Đã dự đủ 2 buổi"),
        ("2026-05", 2, "not_yet", ""),
    ]
    await chat.send("/camket")
    assert "Tiến độ gần nhất (5/2026): ✅ 1 · ⏳ 1 · ⬜ 1" in chat.text


async def test_monthly_check_in_reminders_go_once_to_those_who_have_not_answered(app, chat, clock):
    await chat.register()
    await write_commitment(chat)
    other = Chat(app, "u2")
    await other.register(name="Trần Văn Hai")
    await write_commitment(other)
    await other.send("/camket")
    await other.press("Cập nhật tiến độ")
    for _ in range(3):
        await other.press("Đã làm")
    recorder = Recorder()
    delivery = Delivery(app, {"console": recorder})
    clock.set(datetime(2026, 5, 25, 11, 59, tzinfo=UTC))  # 18:59 on the 25th: not yet
    await delivery.every_minute()
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'checkin'") == [(0,)]
    clock.set(datetime(2026, 5, 25, 12, 0, tzinfo=UTC))
    await delivery.every_minute()
    await delivery.every_minute()
    await delivery.senders["console"].drain()
    assert [who for who, _ in recorder.sent] == ["u1"]  # u2 already answered for May
    assert "cập nhật tiến độ bản cam kết (tháng 5/2026)" in recorder.sent[0][1]


async def test_the_year_end_report_in_chat_and_as_a_document(app, chat):
    await chat.register()
    await chat.send("/tongket")
    assert "chưa viết bản cam kết" in chat.text
    await write_commitment(chat)
    await chat.send("/camket")
    await chat.press("Cập nhật tiến độ")
    for label in ("Đã làm", "Đang làm", "Đã làm"):
        await chat.press(label)
    await chat.send("/tongket")
    assert OWN in chat.text and "Đã hoàn thành 2/3" in chat.text
    (document,) = [r.document for r in chat.replies if r.document]
    assert document.filename == "tu-danh-gia-cam-ket-2026.docx"
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document.content)).paragraphs)
    assert "BẢN TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN CAM KẾT NĂM 2026" in text
    assert "Nguyễn Văn An" in text
    assert rows(app, "SELECT kind FROM activity WHERE kind = 'self_report'") == [("self_report",)]


async def test_organizers_see_completion_of_their_units(app, chat):
    await chat.register()
    await write_commitment(chat)
    await Chat(app, "u2").register(name="Trần Văn Hai", code="HA-TAY")
    await Chat(app, "u3").register(name="Lê Văn Ba", code="BS-KP1")
    admin = Chat(app, "admin")
    await admin.send("/camketdonvi")
    assert "Đảng bộ Tỉnh Minh Họa (dữ liệu mẫu): 1/3 (33,3%)" in admin.text
    assert "Đảng bộ xã Hòa An (minh họa): 1/2 (50,0%)" in admin.text
    assert "Đảng bộ phường Bến Sông (minh họa): 0/1 (0,0%)" in admin.text
    await chat.send("/camketdonvi")
    assert "không có quyền" in chat.text


async def test_erasing_a_member_erases_their_commitment(app, chat):
    await chat.register()
    await write_commitment(chat)
    await chat.send("/xoadulieu")
    await chat.press("Xóa vĩnh viễn")
    assert rows(app, "SELECT count(*) FROM commitments") == [(0,)]


@pytest.mark.parametrize("user", ["a/../../b", "local"])
async def test_the_console_saves_the_document_next_to_the_database(app, user):
    from bot.channels.console import ConsoleChannel

    chat = Chat(app, user)
    await chat.register()
    await write_commitment(chat)
    out = io.StringIO()
    console = ConsoleChannel(app, user, stdin=io.StringIO("/tongket\n"), stdout=out)
    await console.run()
    saved = list((app.settings.database.path.parent / "exports").glob("*.docx"))
    assert len(saved) == 1 and saved[0].parent.name == "exports"
    assert f"📄 {saved[0]}" in out.getvalue()


async def test_check_in_reminders_can_be_turned_off_even_when_queued(app, chat, clock):
    await chat.register()
    await write_commitment(chat)
    delivery = Delivery(app, {"console": Recorder()})
    clock.set(datetime(2026, 5, 25, 12, 0, tzinfo=UTC))
    await delivery.every_minute()
    assert rows(app, "SELECT status FROM outbox WHERE kind = 'checkin'") == [("pending",)]
    await chat.send("/nhacnho")
    assert "đang bật" in chat.text
    await chat.press("Tắt nhắc cập nhật cam kết")
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'checkin'") == [(0,)]
    clock.set(datetime(2026, 6, 25, 12, 0, tzinfo=UTC))
    await delivery.every_minute()
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'checkin'") == [(0,)]
    await chat.send("/nhacnho")
    assert "đã tắt" in chat.text
    await chat.press("Bật lại")
    assert rows(app, "SELECT count(*) FROM reminder_optouts") == [(0,)]


async def test_the_profile_shows_the_commitment_and_reminder(app, chat):
    await chat.register()
    await chat.send("/hoso")
    assert "Nhắc bài học: tắt" in chat.text and "Cam kết năm nay: chưa viết" in chat.text
    await write_commitment(chat)
    await chat.send("/nhacnho")
    await chat.press("20:00")
    await chat.send("/hoso")
    assert "Nhắc bài học: 20:00" in chat.text and "đã viết, 3 việc" in chat.text


async def test_a_deadline_of_29_february_means_the_end_of_february(env, clock, tmp_path):
    units = tmp_path / "units.yaml"
    text = (ROOT / "content" / "demo" / "units.yaml").read_text("utf-8")
    units.write_text(
        text.replace(
            "    join_code: HOA-AN\n", "    join_code: HOA-AN\n    commitment_deadline: 29/2\n"
        ),
        "utf-8",
    )
    settings = load_settings(None, environ={**env, "BOT_ORGANISATION_UNITS_FILE": str(units)})
    clock.set(datetime(2026, 2, 10, 3, 0, tzinfo=UTC))
    async with open_app(settings, clock=clock) as app:
        chat = Chat(app)
        await chat.register()
        await write_commitment(chat)
        assert "28/2/2026" in chat.text


async def test_a_commitment_confirmed_after_new_year_is_not_saved_into_the_new_year(
    app, chat, clock
):
    clock.set(datetime(2026, 12, 31, 16, 50, tzinfo=UTC))  # 23:50 on 31 December
    await chat.register()
    await chat.send("/camket")
    for number in (1, 2, 3):
        await chat.press(f"⬜ {number}")
    await chat.press("Xong")
    clock.advance(minutes=20)
    await chat.press("Lưu cam kết")
    assert "hết hiệu lực" in chat.text
    assert rows(app, "SELECT count(*) FROM commitments") == [(0,)]
