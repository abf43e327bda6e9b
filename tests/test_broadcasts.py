"""Organizer notices: only to one's own subtree, previewed, confirmed, followed, summarized."""

from __future__ import annotations

import pytest

from bot.delivery.service import Delivery
from bot.features.broadcasts import eta_parts

from .conftest import Chat, rows
from .test_delivery import Recorder

TEXT = "Mời các đồng chí dự hội nghị học tập chuyên đề lúc 8:00 Chủ nhật tại hội trường xã."


@pytest.fixture
async def people(app):
    """An organizer of DEMO.HA, members inside and outside it."""
    organizer = Chat(app, "org")
    await organizer.register(name="Lê Văn Tổ", code="HOA-AN")
    for user, name, code, category in [
        ("a", "Nguyễn Thị Một", "HA-DONG", "Đảng viên"),
        ("b", "Trần Văn Hai", "HA-TAY", "Đảng viên"),
        ("c", "Phạm Văn Ba", "HA-DONG", "Đoàn viên"),
        ("d", "Võ Thị Bốn", "BS-KP1", "Đảng viên"),
    ]:
        await Chat(app, user).register(name=name, code=code, category=category)
    member_id = rows(app, "SELECT id FROM members WHERE full_name = 'Lê Văn Tổ'")[0][0]
    await app.store.grant(member_id, "DEMO.HA", actor="test", now=0)
    return organizer


async def test_members_who_organize_nothing_cannot_send(app, people):
    member = Chat(app, "a")
    await member.send("/thongbao")
    assert "không có quyền" in member.text


async def test_an_organizer_sends_to_party_members_of_their_subtree(app, people, clock):
    recorder = Recorder()
    delivery = Delivery(app, {"console": recorder})
    org = people
    await org.send("/thongbao")
    await org.send(TEXT)
    labels = [c.label for c in org.last_with_choices().choices]
    assert any("Đảng bộ xã Hòa An" in label for label in labels)
    assert not any("Bến Sông" in label for label in labels)  # not their subtree
    await org.press("Đảng bộ xã Hòa An")
    await org.press("Đảng viên")
    assert "✅ Đảng viên" in [c.label for c in org.last_with_choices().choices]
    await org.press("Xong")
    # a, b and the organizer; not c (đoàn viên), not d (another commune)
    assert TEXT in org.text and "Số người nhận: 3" in org.text and "dưới 1 phút" in org.text
    await org.press("Gửi ngay")
    assert "Đang chờ: 3" in org.text
    await delivery.senders["console"].drain()
    assert sorted(who for who, _ in recorder.sent) == ["a", "b", "org"]
    assert all(TEXT in text for _, text in recorder.sent)
    await org.press("Cập nhật")
    assert "Đã gửi xong" in org.text and "Đã gửi: 3" in org.text
    clock.advance(minutes=1)  # the organizer's own chat waits its 1 s between messages
    await delivery.every_minute()
    await delivery.senders["console"].drain()
    summary = [text for who, text in recorder.sent if who == "org" and "📊" in text]
    assert len(summary) == 1 and "Người nhận: 3" in summary[0] and "Đã gửi: 3" in summary[0]
    await delivery.every_minute()
    await delivery.senders["console"].drain()
    assert len([text for who, text in recorder.sent if "📊" in text]) == 1  # told once
    audit = rows(app, "SELECT action, scope FROM audit_log WHERE action = 'broadcast'")
    assert audit == [("broadcast", "unit:DEMO.HA categories:dang_vien")]  # never the text


async def test_units_outside_the_subtree_are_refused_when_typed(app, people):
    org = people
    await org.send("/thongbao")
    await org.send(TEXT)
    await org.send("BS-KP1")
    assert "không phải đơn vị bạn phụ trách" in org.text
    await org.send("HA-TAY")
    assert "đối tượng nào" in org.text


async def test_preview_can_edit_the_text_and_an_empty_audience_cannot_be_sent(app, people):
    org = people
    await org.send("/thongbao")
    await org.send("Nội dung cũ")
    await org.press("Chi bộ thôn Tây")
    await org.press("Hội viên")  # nobody in thôn Tây is a hội viên
    await org.press("Xong")
    assert "Số người nhận: 0" in org.text
    assert "Gửi ngay" not in [c.label for c in org.last_with_choices().choices]
    await org.press("Sửa nội dung")
    await org.send("Nội dung mới")
    assert "Nội dung mới" in org.text and "Nội dung cũ" not in org.text
    assert rows(app, "SELECT count(*) FROM broadcasts") == [(0,)]


def test_eta_rounds_up_to_whole_minutes():
    assert eta_parts(0, 25) == (0, 0)
    assert eta_parts(1, 25) == (0, 1)
    assert eta_parts(1501, 25) == (0, 2)
    assert eta_parts(120_000, 25) == (1, 20)  # 80 minutes, as reference/telegram.md says


async def test_pressing_send_again_after_a_failure_does_not_send_twice(app, people, monkeypatch):
    org = people
    await org.send("/thongbao")
    await org.send(TEXT)
    await org.press("Đảng bộ xã Hòa An")
    await org.press("Xong")
    send = org.last_with_choices().token(0)

    async def failing_log(**kwargs):  # the turn fails after the notice was queued
        raise RuntimeError("database is locked")

    monkeypatch.setattr(app.store, "log_action", failing_log)
    await org.press_token(send)
    assert "sự cố" in org.text
    monkeypatch.undo()
    await org.press_token(send)  # the same, still open, preview
    assert rows(app, "SELECT count(*) FROM broadcasts") == [(1,)]
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'notice'") == [(4,)]


async def test_a_notice_and_its_rows_are_queued_together(app, people):
    org = app.services.org
    broadcast_id, recipients = await app.store.outbox.create_broadcast(
        request_key="r1",
        unit_code="DEMO",
        path=org.path("DEMO"),
        categories=["dang_vien"],
        text=TEXT,
        created_by=None,
        now=0,
    )
    again = await app.store.outbox.create_broadcast(
        request_key="r1",
        unit_code="DEMO",
        path=org.path("DEMO"),
        categories=["dang_vien"],
        text=TEXT,
        created_by=None,
        now=5,
    )
    assert again == (broadcast_id, recipients) and recipients == 4  # org, a, b, d
    keys = [k for (k,) in rows(app, "SELECT key FROM outbox")]
    assert all(k.startswith(f"notice:{broadcast_id}:") and k.endswith(":console") for k in keys)


async def test_a_notice_keeps_its_line_breaks(app, people):
    org = people
    await org.send("/thongbao")
    await org.send("Họp chi bộ:\n- Thời gian: 8:00\n- Địa điểm: hội trường")
    await org.press("Chi bộ thôn Tây")
    await org.press("Xong")
    assert "Họp chi bộ:\n- Thời gian: 8:00\n- Địa điểm: hội trường" in org.text
