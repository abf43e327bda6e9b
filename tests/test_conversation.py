"""The conversation core end to end on a real store, through the console channel's identity."""

from __future__ import annotations

import asyncio
import unicodedata

from bot.app import open_app
from bot.config import load_settings
from bot.core.conversation import Conversation
from bot.core.messages import Kind
from bot.features import build_router
from bot.features.lessons import reading_order

from .conftest import LESSONS, ROOT, Chat, rows


async def test_member_registers_and_reads_a_lesson(app, chat):
    await chat.register()
    member = rows(app, "SELECT id, full_name, unit_code, category, consent_at FROM members")
    assert member == [(member[0][0], "Nguyễn Văn An", "DEMO.HA.1", "dang_vien", member[0][4])]
    assert member[0][4] > 0
    assert "Chào đồng chí Nguyễn Văn An" in chat.text

    await chat.press("bài học")
    assert "📖" in chat.text and "Làm theo hôm nay" in chat.text and "Nguồn:" in chat.text
    assert "Chuỗi: 1 ngày" in chat.text and f"Đã đọc 1/{LESSONS}" in chat.text
    await chat.press("bài tiếp")
    assert f"Đã đọc 2/{LESSONS}" in chat.text
    read = rows(app, "SELECT member_id, unit_code, category, kind FROM activity")
    assert read == [(member[0][0], "DEMO.HA.1", "dang_vien", "lesson_read")] * 2
    assert len({r[0] for r in rows(app, "SELECT ref FROM activity")}) == 2


async def test_nothing_is_stored_before_consent_and_after_declining(app, chat):
    await chat.send("/start HA-DONG")
    assert "đồng ý" in chat.text.lower()
    assert rows(app, "SELECT count(*) FROM dialogs") == [(0,)]
    await chat.press("Không đồng ý")
    assert "không lưu" in chat.text.lower()
    for table in ("members", "accounts", "dialogs", "activity"):
        assert rows(app, f"SELECT count(*) FROM {table}") == [(0,)], table


async def test_join_code_skips_the_unit_question(app, chat):
    await chat.send("/start ha-dong")
    await chat.press("đồng ý")
    await chat.send("trần thị bình")
    assert "đối tượng" in chat.text.lower()
    await chat.press("Đoàn viên")
    assert "Trần Thị Bình" in chat.text and "Chi bộ thôn Đông" in chat.text


async def test_wrong_join_code_is_explained_and_asked_again(app, chat):
    await chat.send("/start NOPE42")
    assert "NOPE42" in chat.text and "không đúng" in chat.text
    await chat.press("đồng ý")
    await chat.send("Lê Văn Cường")
    await chat.send("KHONG-CO")
    assert "Không tìm thấy" in chat.text
    await chat.send("thon tay")  # a name typed without diacritics
    assert "Tìm thấy 1" in chat.text
    await chat.press("Chi bộ thôn Tây")
    assert "đối tượng" in chat.text.lower()


async def test_names_are_checked_and_normalised(app, chat):
    await chat.send("/start HA-DONG")
    await chat.press("đồng ý")
    for bad in ("An", "12345 678", "x" * 100 + " y"):
        await chat.send(bad)
        assert "ít nhất hai chữ" in chat.text
    nfd = unicodedata.normalize("NFD", "PHẠM  thị   HƯƠNG")
    await chat.send(nfd)
    await chat.press("Quần chúng")
    await chat.press("hoàn tất")
    (name,) = rows(app, "SELECT full_name FROM members")[0]
    assert name == "Phạm Thị Hương" and unicodedata.is_normalized("NFC", name)
    assert "Chào bạn Phạm Thị Hương" in chat.text


async def test_typed_words_reach_commands_without_slash_or_diacritics(app, chat):
    await chat.register()
    for typed in ("bai hoc", "Bài học", "BÀI HỌC", "baihoc", "/lesson", "/baihoc@demo_bot"):
        await chat.send(typed)
        assert "📖" in chat.text, typed
    await chat.send("HUONG DAN")
    assert "/baihoc" in chat.text and "/hoso" in chat.text


async def test_a_typed_number_or_label_answers_like_a_button(app, chat):
    await chat.send("/start")
    await chat.send("1")
    assert "họ và tên" in chat.text
    await chat.send("Nguyễn Văn An")
    await chat.send("HA-DONG")
    await chat.send("dang vien")
    assert "kiểm tra lại" in chat.text
    await chat.send("2.")  # "✏ Sửa lại"
    assert "họ và tên" in chat.text


async def test_unknown_command_and_free_text_change_nothing(app, chat):
    await chat.register()
    await chat.send("/hoso")
    offer = chat.last_with_choices()
    before = rows(app, "SELECT state, offer FROM dialogs")
    await chat.send("/khongco")
    assert "Không có lệnh /khongco" in chat.text
    await chat.send("xin chào bot")
    assert "chọn một trong các mục" in chat.text
    assert chat.replies[0].token_prefix == offer.token_prefix  # the same buttons stay valid
    assert rows(app, "SELECT state, offer FROM dialogs") == before
    await chat.press_token(offer.token(0))  # "Sửa họ tên" still works
    assert "họ và tên" in chat.text


async def test_stale_and_forged_buttons_do_nothing(app, chat):
    await chat.register()
    members = rows(app, "SELECT * FROM members")
    confirm = [r for r in chat.history if any("hoàn tất" in c.label for c in r.choices)][-1]
    for token in (confirm.token(0), "zz.0", "garbage", "", "x" * 64, f"{confirm.token_prefix}.9"):
        await chat.press_token(token)
        assert chat.replies[0].notice and "hết hiệu lực" in chat.text, token
    assert rows(app, "SELECT * FROM members") == members


async def test_double_tap_on_confirm_registers_once(app, chat):
    await chat.send("/start HA-DONG")
    await chat.press("đồng ý")
    await chat.send("Nguyễn Văn An")
    await chat.press("Đảng viên")
    token = chat.last_with_choices().token(0)
    replies = await asyncio.gather(chat.press_token(token), chat.press_token(token))
    assert sum("hết hiệu lực" in r[0].text for r in replies) == 1
    assert rows(app, "SELECT count(*) FROM members") == [(1,)]
    assert rows(app, "SELECT count(*) FROM accounts") == [(1,)]


async def test_huge_edited_and_unsupported_messages_are_answered(app, chat):
    await chat.register()
    before = rows(app, "SELECT * FROM dialogs")
    await chat.send("a" * 10_000)
    assert "10.000 ký tự" in chat.text and "2.000" in chat.text
    await chat.send("", Kind.EDITED)
    assert "đã sửa" in chat.text
    await chat.send("", Kind.UNSUPPORTED)
    assert "chữ" in chat.text
    assert rows(app, "SELECT * FROM dialogs") == before


async def test_commands_that_need_registration_say_so(app, chat):
    for command in ("/baihoc", "/hoso", "/xoadulieu"):
        await chat.send(command)
        assert "chưa đăng ký" in chat.text
    assert rows(app, "SELECT count(*) FROM dialogs") == [(0,)]


async def test_streak_counts_consecutive_local_days(app, chat, clock):
    await chat.register()
    await chat.send("/baihoc")
    assert "Chuỗi: 1 ngày" in chat.text
    clock.advance(hours=16)  # 00:00 next day in Hà Nội, still the same UTC day
    await chat.send("/baihoc")
    assert "Chuỗi: 2 ngày" in chat.text
    clock.advance(days=2)
    await chat.send("/hoso")
    assert "Chuỗi: 0 ngày" in chat.text
    await chat.send("/baihoc")
    assert "Chuỗi: 1 ngày" in chat.text


async def test_lesson_for_a_commemorative_day_comes_first(app, chat, clock):
    order = reading_order(app.services.lessons, app.services.plan)
    themed = [lesson for lesson in order if "2/9" in lesson.dates]
    assert themed, "the shipped lessons include one for 2/9"
    clock.advance(days=115)  # 2 September 2026
    await chat.register()
    await chat.send("/baihoc")
    assert themed[0].title in chat.text


async def test_all_lessons_read_starts_a_review(app, chat):
    await chat.register()
    total = len(app.services.lessons)
    for _ in range(total):
        await chat.send("/baihoc")
    await chat.send("/baihoc")
    assert f"đã đọc hết {total} bài" in chat.text


async def test_profile_edits(app, chat):
    await chat.register()
    await chat.send("/hoso")
    await chat.press("Sửa họ tên")
    await chat.send("Nguyễn Văn Bình")
    assert "Đã lưu" in chat.text and "Nguyễn Văn Bình" in chat.text
    await chat.press("Đổi đơn vị")
    await chat.send("BS-KP1")
    assert "Chi bộ khu phố 1" in chat.text
    await chat.press("Đổi đối tượng")
    await chat.press("Hội viên")
    assert rows(app, "SELECT full_name, unit_code, category FROM members") == [
        ("Nguyễn Văn Bình", "DEMO.BS.1", "hoi_vien")
    ]


async def test_erasing_data_keeps_only_anonymous_counts(app, chat):
    await chat.register()
    await chat.send("/baihoc")
    await chat.send("/xoadulieu")
    await chat.press("Không xóa")
    assert rows(app, "SELECT count(*) FROM members") == [(1,)]
    await chat.send("/xoadulieu")
    await chat.press("Xóa vĩnh viễn")
    assert "Đã xóa" in chat.text
    for table in ("members", "accounts", "dialogs", "organizers"):
        assert rows(app, f"SELECT count(*) FROM {table}") == [(0,)], table
    # Kept as one anonymous person: a random stand-in at or below -2^40, linked to nobody.
    ((stand_in, unit, kind),) = rows(app, "SELECT member_id, unit_code, kind FROM activity")
    assert stand_in <= -(2**40) and (unit, kind) == ("DEMO.HA.1", "lesson_read")
    await chat.send("/baihoc")
    assert "chưa đăng ký" in chat.text


async def test_state_survives_a_restart(app, chat):
    await chat.send("/start HA-DONG")
    await chat.press("đồng ý")
    restarted = Chat(app)
    app.conversation = Conversation(app.services, build_router(app.services))  # empty cache
    await restarted.send("Nguyễn Văn An")
    assert "đối tượng" in restarted.text.lower()


async def test_consent_question_is_not_persisted_so_restart_makes_it_stale(app, chat):
    await chat.send("/start")
    token = chat.last_with_choices().token(0)
    app.conversation = Conversation(app.services, build_router(app.services))
    await chat.press_token(token)
    assert "hết hiệu lực" in chat.text


async def test_english_locale(app, chat):
    await chat.register()
    await chat.send("/language")
    await chat.press("English")
    assert "Switched to English" in chat.text
    await chat.send("lesson")
    assert "Practise today" in chat.text
    await chat.send("/help")
    assert "/baihoc /lesson" in chat.text


async def test_units_are_visible_only_to_organizers_of_their_subtree(app, chat, clock):
    await chat.register()
    await chat.send("/donvi")
    assert "không có quyền" in chat.text
    member_id = rows(app, "SELECT id FROM members")[0][0]
    await app.store.grant(member_id, "DEMO.HA", actor="test", now=0)
    await chat.send("/donvi")
    assert "Chi bộ thôn Đông" in chat.text and "HA-TAY" in chat.text
    assert "Bến Sông" not in chat.text
    admin = Chat(app, "admin")
    await admin.send("/donvi")
    assert "Bến Sông" in admin.text and "https://t.me/" in admin.text


async def test_admin_reloads_units_and_bad_files_keep_the_old_tree(env, clock, tmp_path):
    units = tmp_path / "units.yaml"
    demo = (ROOT / "content" / "demo" / "units.yaml").read_text(encoding="utf-8")
    units.write_text(demo, encoding="utf-8")
    settings = load_settings(None, environ={**env, "BOT_ORGANISATION_UNITS_FILE": str(units)})
    async with open_app(settings, clock=clock) as app:
        admin = Chat(app, "admin")
        units.write_text("units:\n  - code: A\n    name: A\n    parent: NOWHERE\n", "utf-8")
        await admin.send("/napdonvi")
        assert "vẫn dùng danh sách cũ" in admin.text and "unknown parent 'NOWHERE'" in admin.text
        assert app.services.org.get("DEMO.HA") is not None
        units.write_text(
            demo + "  - code: DEMO.HA.3\n    name: Chi bộ thôn Nam (minh họa)\n"
            "    parent: DEMO.HA\n",
            "utf-8",
        )
        await admin.send("/napdonvi")
        assert "8 đơn vị" in admin.text
        assert app.services.org.by_join_code("HA-DONG").code == "DEMO.HA.1"
        assert app.services.org.get("DEMO.HA.3").join_code
        member = Chat(app, "u9")
        await member.send("/napdonvi")
        assert "không có quyền" in member.text


async def test_many_members_at_once_share_transactions(app):
    chats = [Chat(app, f"m{i}") for i in range(150)]
    await asyncio.gather(
        *(c.register(name=f"Người Thứ {chr(65 + i % 26)}") for i, c in enumerate(chats))
    )
    await asyncio.gather(*(c.send("/baihoc") for c in chats))
    assert rows(app, "SELECT count(*) FROM members") == [(150,)]
    assert rows(app, "SELECT count(*) FROM activity") == [(150,)]
    assert app.store.transactions < 150 * 7  # concurrent turns were grouped


async def test_a_registered_member_opening_another_units_link_may_move(app, chat):
    await chat.register()
    await chat.send("/start BS-KP1")
    assert "Chi bộ khu phố 1" in chat.text and "Chuyển hồ sơ" in chat.text
    await chat.press("Giữ đơn vị cũ")
    assert rows(app, "SELECT unit_code FROM members") == [("DEMO.HA.1",)]
    await chat.send("/start BS-KP1")
    await chat.press("Chuyển sang")
    assert rows(app, "SELECT unit_code FROM members") == [("DEMO.BS.1",)]
    await chat.send("/start BS-KP1")  # already there: just the welcome
    assert "Rất vui được gặp lại" in chat.text


async def test_member_only_buttons_after_erasing_say_register_first(app, chat):
    await chat.register()
    await chat.send("/baihoc")
    next_lesson = chat.last_with_choices().token(0)
    await chat.send("/xoadulieu")
    await chat.press("Xóa vĩnh viễn")
    await chat.press_token(next_lesson)
    assert "hết hiệu lực" in chat.text  # the offer died with the data
    assert rows(app, "SELECT count(*) FROM activity WHERE member_id > 0") == [(0,)]


async def test_unusual_digits_and_line_breaks_are_handled(app, chat):
    await chat.send("/start")
    await chat.send("²")  # isdigit() but not a number we can use
    assert "chọn một trong các mục" in chat.text
    await chat.send("1")
    await chat.send("Nguyễn\nVăn   An")
    await chat.send("HA-DONG")
    await chat.press("Đảng viên")
    assert "Họ tên: Nguyễn Văn An" in chat.text


async def test_erasing_an_organizer_anonymises_the_audit_log(app, chat):
    await chat.register()
    member_id = rows(app, "SELECT id FROM members")[0][0]
    await app.store.grant(member_id, "DEMO.HA", actor="test", now=0)
    await app.store.log_action(actor="console:u1", action="broadcast", scope="unit:DEMO.HA", now=1)
    await chat.send("/xoadulieu")
    await chat.press("Xóa vĩnh viễn")
    assert ("console:u1",) not in rows(app, "SELECT actor FROM audit_log")
    assert ("erased",) in rows(app, "SELECT actor FROM audit_log")


async def test_help_lists_organizer_commands_only_to_organizers(app, chat):
    await chat.register()
    await chat.send("/huongdan")
    assert "/camket" in chat.text and "/thongbao" not in chat.text and "/donvi" not in chat.text
    admin = Chat(app, "admin")
    await admin.send("/huongdan")
    assert "/thongbao" in admin.text and "/napdonvi" in admin.text


async def test_a_database_locked_by_another_process_fails_a_turn_cleanly(env, clock):
    import sqlite3 as sqlite

    settings = load_settings(None, environ={**env, "BOT_DATABASE_BUSY_TIMEOUT_MS": "200"})
    async with open_app(settings, clock=clock) as app:
        chat = Chat(app)
        await chat.register()
        other = sqlite.connect(settings.database.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # e.g. a long write from a command-line tool
        try:
            await chat.send("/baihoc")
            assert "sự cố" in chat.text  # told, and nothing half-written
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert rows(app, "SELECT count(*) FROM activity") == [(0,)]
        await chat.send("/baihoc")
        assert f"Đã đọc 1/{LESSONS}" in chat.text  # the first read was not counted, this one is
        assert rows(app, "SELECT count(*) FROM activity") == [(1,)]
