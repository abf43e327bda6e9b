"""The console chat and the command line, run as real subprocesses over pipes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing

from .conftest import LESSONS, ROOT

STEPS = ["/start HA-DONG", "1", "Nguyễn Văn An", "1", "1", "1", "bai tiep", "/hoso"]


def run_bot(env: dict, *args: str, stdin: str = "", timeout: float = 30):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONUTF8": "1", **env},
    )


def test_piped_console_goes_from_start_to_a_read_lesson(env):
    result = run_bot(env, "console", "--user", "u1", stdin="\n".join(STEPS) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] ✅ Tôi đồng ý" in out
    assert "Chào đồng chí Nguyễn Văn An" in out
    assert "👉 Làm theo hôm nay" in out and f"Đã đọc 2/{LESSONS}" in out
    assert "Hồ sơ của bạn" in out
    with closing(sqlite3.connect(env["BOT_DATABASE_PATH"])) as db:
        assert db.execute("SELECT count(*) FROM activity").fetchone() == (2,)


def test_piped_console_practises_a_question_and_lists_contests_and_dates(env):
    steps = [*STEPS[:6], "/ontap", "tư tưởng", "b", "câu tiếp", "/cuocthi", "/ngayle"]
    result = run_bot(env, "console", "--user", "u1", stdin="\n".join(steps) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Câu hỏi mới · Tư tưởng" in out and "[1] A" in out
    assert "Bạn chọn B." in out and "Nguồn:" in out
    assert "chưa có cuộc thi nào dành cho bạn" in out
    assert "Các ngày kỷ niệm sắp tới" in out
    with closing(sqlite3.connect(env["BOT_DATABASE_PATH"])) as db:
        assert db.execute("SELECT count(*) FROM practice_cards").fetchone() == (1,)


def test_run_without_token_is_the_console(env):
    result = run_bot(env, stdin="/huongdan\n")
    assert result.returncode == 0, result.stderr
    assert "Trò chuyện trên máy" in result.stdout and "/start" in result.stdout


async def test_console_answers_each_line_before_the_next_one_is_written(env):
    """Another program can converse over the pipes: every reply is flushed at once."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        "--user",
        "u2",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "PYTHONUTF8": "1", **env},
    )

    async def read_until(fragment: str) -> str:
        seen = ""
        while fragment not in seen:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            assert line, f"end of output before {fragment!r}: {seen}"
            seen += line.decode()
        return seen

    await read_until("Ctrl+D")
    for line, expected in [
        ("/start", "[2] Không đồng ý"),
        ("1", "họ và tên"),
        ("Trần Văn Bảo", "đơn vị"),
        ("thon tay", "[1] Chi bộ thôn Tây"),
        ("1", "[5] Quần chúng"),
        ("quan chung", "Trần Văn Bảo"),
        ("dung", "đăng ký xong"),
    ]:
        process.stdin.write(f"{line}\n".encode())
        await process.stdin.drain()
        await read_until(expected)
    process.stdin.close()
    assert await asyncio.wait_for(process.wait(), timeout=20) == 0


def test_config_errors_stop_start_up_naming_the_key(env):
    result = run_bot({**env, "BOT_TELEGRAM_MODE": "push"}, "run")
    assert result.returncode == 2
    assert "telegram.mode (or BOT_TELEGRAM_MODE)" in result.stderr
    assert "polling, webhook" in result.stderr


def test_content_errors_stop_start_up_naming_file_line_and_field(env, tmp_path):
    units = tmp_path / "units.yaml"
    units.write_text("units:\n  - code: A\n    name: A\n  - code: B\n    nam: B\n", "utf-8")
    result = run_bot({**env, "BOT_ORGANISATION_UNITS_FILE": str(units)}, "run")
    assert result.returncode == 2
    assert f"{units}:5: unit 'B': unknown field 'nam'" in result.stderr
    assert f"{units}:4: unit 'B': missing 'name'" in result.stderr
    assert not os.path.exists(env["BOT_DATABASE_PATH"])  # nothing was created


def test_grant_and_units_commands(env):
    assert run_bot(env, "console", "--user", "u1", stdin="\n".join(STEPS)).returncode == 0
    listed = run_bot(env, "units")
    assert listed.returncode == 0, listed.stderr
    assert "DEMO.HA.1\tChi bộ thôn Đông (minh họa)\tHA-DONG\thttps://t.me/" in listed.stdout
    bad = run_bot(env, "grant", "--unit", "NOPE", "--account", "console:u1")
    assert bad.returncode == 2 and "Unknown unit code 'NOPE'" in bad.stderr
    nobody = run_bot(env, "grant", "--unit", "DEMO.HA", "--account", "console:ghost")
    assert nobody.returncode == 2 and "No registered member" in nobody.stderr
    granted = run_bot(env, "grant", "--unit", "DEMO.HA", "--account", "console:u1")
    assert granted.returncode == 0 and "now organizes DEMO.HA" in granted.stdout
    units = run_bot(env, "console", "--user", "u1", stdin="/donvi\n")
    assert "Chi bộ thôn Tây" in units.stdout and "Bến Sông" not in units.stdout
    revoked = run_bot(env, "grant", "--unit", "DEMO.HA", "--account", "console:u1", "--revoke")
    assert revoked.returncode == 0 and "Revoked" in revoked.stdout
    with closing(sqlite3.connect(env["BOT_DATABASE_PATH"])) as db:
        assert [a for (a,) in db.execute("SELECT action FROM audit_log")] == ["grant", "revoke"]


def test_outbox_command_lists_and_requeues_unknown_messages(env):
    assert run_bot(env, "outbox").stdout.strip() == "The outbox is empty."
    with closing(sqlite3.connect(env["BOT_DATABASE_PATH"])) as db, db:
        db.execute(
            "INSERT INTO outbox (key, channel, external_id, kind, status, not_before,"
            " created_at, updated_at) VALUES ('k', 'telegram', '1', 'notice', 'unknown', 0, 0, 0)"
        )
    assert "notice\tunknown\t1" in run_bot(env, "outbox").stdout
    retried = run_bot(env, "outbox", "--retry-unknown").stdout
    assert "1 'unknown' messages queued again" in retried and "notice\tpending\t1" in retried


async def test_a_refused_token_is_reported_without_printing_it(env):
    from .fakes.telegram_api import FakeTelegram

    async with FakeTelegram(token="999:THE-REAL-TOKEN") as fake:
        token = "123456:SECRET-TOKEN-VALUE"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "BOT_TELEGRAM_TOKEN": token,
                "BOT_TELEGRAM_BASE_URL": fake.base_url,
            },
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "Telegram refused the token" in err.decode()
    assert "SECRET-TOKEN-VALUE" not in (out + err).decode()


def test_report_and_roster_commands(env, tmp_path):
    roster = tmp_path / "danh-sach.csv"
    roster.write_text(
        "Họ và tên,Số điện thoại,Mã đơn vị,Đối tượng\n"
        "Nguyễn Văn An,0912 345 678,DEMO.HA.1,Đảng viên\n"
        "Trần Bình,12345,DEMO.HA.1,Đảng viên\n",
        encoding="utf-8",
    )
    dry = run_bot(env, "import-roster", str(roster), "--dry-run")
    assert dry.returncode == 1  # a row was rejected
    assert "1 new, 0 updated, 1 rejected" in dry.stdout and "row 3:" in dry.stdout
    loaded = run_bot(env, "import-roster", str(roster))
    assert "Loaded 1 roster entries." in loaded.stdout
    with closing(sqlite3.connect(env["BOT_DATABASE_PATH"])) as db:
        assert db.execute("SELECT full_name FROM roster").fetchall() == [("Nguyễn Văn An",)]
    assert (tmp_path / "phone.key").stat().st_mode & 0o777 == 0o600

    text = run_bot(env, "report", "--unit", "DEMO.HA", "--from", "1/11/2026", "--to", "30/11/2026")
    assert text.returncode == 0, text.stderr
    assert "0 lượt người tham dự" in text.stdout and "Chi bộ thôn Đông" in text.stdout
    csv_out = run_bot(env, "report", "--unit", "DEMO.HA", "--format", "csv")
    assert csv_out.stdout.splitlines()[0].lstrip("\ufeff").startswith("Đơn vị,Lượt,Người")
    xlsx = tmp_path / "r.xlsx"
    made = run_bot(env, "report", "--format", "xlsx", "--out", str(xlsx))
    assert made.returncode == 0 and xlsx.read_bytes()[:2] == b"PK"
    for bad in (["--unit", "NOPE"], ["--from", "31/2/2026"], ["--format", "png"]):
        assert run_bot(env, "report", *bad).returncode == 2
    with closing(sqlite3.connect(env["BOT_DATABASE_PATH"])) as db:
        logged = db.execute("SELECT actor FROM audit_log WHERE action = 'report'").fetchall()
    assert logged == [("cli",)] * 3


def test_demo_data_fills_an_empty_database_once(env, tmp_path):
    made = run_bot(env, "demo-data", "--members", "400", "--days", "10")
    assert made.returncode == 0, made.stderr
    assert "400 members" in made.stdout
    units = tmp_path / "demo-units.csv"
    assert units.read_text(encoding="utf-8").startswith("code,name,parent,level,join_code")
    report = run_bot({**env, "BOT_ORGANISATION_UNITS_FILE": str(units)}, "report")
    assert report.returncode == 0, report.stderr
    assert "lượt người tham dự" in report.stdout and "Tỉnh Minh Họa" in report.stdout
    again = run_bot(env, "demo-data", "--members", "400", "--days", "10")
    assert again.returncode == 2 and "already has 400 members" in again.stderr
