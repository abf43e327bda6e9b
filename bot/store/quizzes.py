"""SQL of practice cards and contests: rounds, attempts, every answer, and the ranking at close."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from ..core.models import Activity, Member
from ..quiz.ranking import Entry, Ranked, actual_number, rank
from .activity import activity_statement
from .committer import GroupCommitter, Statement
from .outbox import AUDIENCE_FROM, AUDIENCE_WHERE

Reader = Callable[[str, Iterable], Awaitable[list]]

CONTEST_NOTICE, CONTEST_RESULT, CONTEST_SUMMARY = (
    "contest_notice",
    "contest_result",
    "contest_summary",
)
# Pushes about a contest go before reminders (priority 0) and after nothing else.
NOTICE_PRIORITY = 5
_UNIT_IN = "substr(u.path, 1, length(?)) = ?"


@dataclass(frozen=True)
class Round:
    """One round of a contest."""

    number: int
    opens_at: int
    closes_at: int
    questions: tuple[str, ...]
    actual: int | None
    closed_at: int | None


@dataclass(frozen=True)
class Contest:
    """A launched contest and its rounds."""

    id: int
    title: str
    unit_code: str
    categories: tuple[str, ...]
    pool: dict
    questions_per_round: int
    time_limit_s: int | None
    attempts: int
    tiebreak: str
    creator_channel: str
    creator_account: str
    created_at: int
    rounds: tuple[Round, ...]

    def round(self, number: int) -> Round | None:
        """The round with this number."""
        return next((r for r in self.rounds if r.number == number), None)

    def current_round(self, now: int) -> Round | None:
        """The round open at ``now``, if any."""
        return next((r for r in self.rounds if r.opens_at <= now < r.closes_at), None)

    def next_round(self, now: int) -> Round | None:
        """The next round to open after ``now``."""
        return next((r for r in self.rounds if r.opens_at > now), None)


@dataclass(frozen=True)
class Attempt:
    """One member's attempt at a round."""

    id: int
    number: int
    layout: tuple[tuple[str, tuple[int, ...]], ...]
    started_ms: int
    correct: int
    prediction: int | None
    submitted_ms: int | None


@dataclass(frozen=True)
class ResultRow:
    """One line of a round's final ranking."""

    rank: int
    member_id: int | None
    full_name: str
    unit_code: str
    category: str
    correct: int
    prediction: int | None
    distance: int | None
    duration_ms: int
    submitted_ms: int


@dataclass(frozen=True)
class Standing:
    """A unit's participation and average score in a round."""

    unit_code: str
    entrants: int
    members: int
    average: float | None


@dataclass(frozen=True)
class NewContest:
    """What an organizer launches."""

    title: str
    unit_code: str
    unit_path: str
    categories: tuple[str, ...]
    pool: dict
    questions_per_round: int
    time_limit_s: int | None
    attempts: int
    tiebreak: str
    rounds: tuple[tuple[int, int, tuple[str, ...]], ...]  # (opens_at, closes_at, question ids)
    created_by: int | None
    creator_channel: str
    creator_account: str
    request_key: str


class QuizStore:
    """Queries on practice and contests, sharing the store's connections."""

    def __init__(self, read: Reader, committer: Callable[[], GroupCommitter]) -> None:
        self._read = read
        self._committer = committer
        # Contests change only here (launch, close): every answer would otherwise re-read one.
        self._cache: dict[int, Contest] = {}

    # -- practice ------------------------------------------------------------------------

    async def cards(self, member_id: int) -> dict[str, tuple[int, str]]:
        """The member's review cards: question id → (due unix seconds, card JSON)."""
        rows = await self._read(
            "SELECT question_id, due, card FROM practice_cards WHERE member_id = ?", (member_id,)
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    async def save_card(
        self,
        member: Member,
        question_id: str,
        card: str,
        due: int,
        *,
        correct: bool,
        activity: Activity,
    ) -> None:
        """Store the reviewed card and the answer as one participation."""
        await self._committer().write(
            [
                (
                    "INSERT INTO practice_cards (member_id, question_id, card, due, reviews,"
                    " lapses) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (member_id, question_id)"
                    " DO UPDATE SET card = excluded.card, due = excluded.due,"
                    " reviews = reviews + 1, lapses = lapses + excluded.lapses",
                    (member.id, question_id, card, due, 0 if correct else 1),
                ),
                activity_statement(member, activity),
            ]
        )

    async def organizer_accounts(self, unit_codes: list[str]) -> list[tuple[str, str]]:
        """The reachable (channel, account) of everyone organizing one of ``unit_codes``."""
        if not unit_codes:
            return []
        marks = ", ".join("?" * len(unit_codes))
        rows = await self._read(
            "SELECT DISTINCT a.channel, a.external_id FROM organizers o JOIN accounts a"
            f" ON a.member_id = o.member_id WHERE o.unit_code IN ({marks}) AND a.reachable = 1",
            unit_codes,
        )
        return [(r[0], r[1]) for r in rows]

    # -- launching -----------------------------------------------------------------------

    async def create(self, new: NewContest, now: int) -> int:
        """Store the contest and queue each round's notice; launching twice creates one."""
        by_key = "(SELECT id FROM contests WHERE request_key = ?)"
        statements: list[Statement] = [
            (
                "INSERT OR IGNORE INTO contests (title, unit_code, categories, pool,"
                " questions_per_round, time_limit_s, attempts, tiebreak, created_by,"
                " creator_channel, creator_account, request_key, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.title,
                    new.unit_code,
                    json.dumps(list(new.categories)),
                    json.dumps(new.pool, ensure_ascii=False),
                    new.questions_per_round,
                    new.time_limit_s,
                    new.attempts,
                    new.tiebreak,
                    new.created_by,
                    new.creator_channel,
                    new.creator_account,
                    new.request_key,
                    now,
                ),
            )
        ]
        categories = json.dumps(list(new.categories))
        for number, (opens, closes, questions) in enumerate(new.rounds, 1):
            statements.append(
                (
                    "INSERT OR IGNORE INTO contest_rounds (contest_id, round, opens_at,"
                    f" closes_at, questions) VALUES ({by_key}, ?, ?, ?, ?)",
                    (new.request_key, number, opens, closes, json.dumps(list(questions))),
                )
            )
            statements.append(
                (
                    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind,"
                    " ref, payload, priority, not_before, created_at, updated_at)"
                    f" SELECT 'contest_notice:' || {by_key} || ':' || ? || ':' || m.id || ':'"
                    " || a.channel, a.channel, a.external_id, m.id, ?,"
                    f" 'contest:' || {by_key}, json_object('contest', {by_key}, 'round', ?),"
                    f" ?, ?, ?, ? FROM {AUDIENCE_FROM} WHERE {AUDIENCE_WHERE}",
                    (
                        new.request_key,
                        number,
                        CONTEST_NOTICE,
                        new.request_key,
                        new.request_key,
                        number,
                        NOTICE_PRIORITY,
                        opens,
                        now,
                        now,
                        new.unit_path,
                        new.unit_path,
                        categories,
                        categories,
                    ),
                )
            )
        await self._committer().write(statements)
        rows = await self._read(
            "SELECT id FROM contests WHERE request_key = ?", (new.request_key,)
        )
        return rows[0][0]

    # -- reading contests ----------------------------------------------------------------

    async def get(self, contest_id: int) -> Contest | None:
        """One contest with its rounds."""
        if contest_id not in self._cache:
            found = await self._contests("WHERE c.id = ?", (contest_id,))
            if not found:
                return None
            self._cache[contest_id] = found[0]
        return self._cache[contest_id]

    async def recent(self, since: int) -> list[Contest]:
        """Contests whose last round closes after ``since``, newest first."""
        return await self._contests(
            "WHERE c.id IN (SELECT contest_id FROM contest_rounds GROUP BY contest_id"
            " HAVING max(closes_at) > ?)",
            (since,),
        )

    async def _contests(self, where: str, params: tuple) -> list[Contest]:
        rows = await self._read(
            "SELECT c.id, c.title, c.unit_code, c.categories, c.pool, c.questions_per_round,"
            " c.time_limit_s, c.attempts, c.tiebreak, c.creator_channel, c.creator_account,"
            f" c.created_at FROM contests c {where} ORDER BY c.id DESC",
            params,
        )
        if not rows:
            return []
        ids = [r[0] for r in rows]
        marks = ", ".join("?" * len(ids))
        rounds: dict[int, list[Round]] = {}
        for r in await self._read(
            "SELECT contest_id, round, opens_at, closes_at, questions, actual, closed_at"
            f" FROM contest_rounds WHERE contest_id IN ({marks}) ORDER BY contest_id, round",
            ids,
        ):
            rounds.setdefault(r[0], []).append(
                Round(r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6])
            )
        return [
            Contest(
                r[0],
                r[1],
                r[2],
                tuple(json.loads(r[3])),
                json.loads(r[4]),
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                tuple(rounds.get(r[0], ())),
            )
            for r in rows
        ]

    # -- attempts ------------------------------------------------------------------------

    async def attempts(self, contest_id: int, round_number: int, member_id: int) -> list[Attempt]:
        """A member's attempts at a round, oldest first."""
        rows = await self._read(
            "SELECT id, number, layout, started_ms, correct, prediction, submitted_ms"
            " FROM contest_attempts WHERE contest_id = ? AND round = ? AND member_id = ?"
            " ORDER BY number",
            (contest_id, round_number, member_id),
        )
        return [
            Attempt(
                r[0],
                r[1],
                tuple((q, tuple(order)) for q, order in json.loads(r[2])),
                r[3],
                r[4],
                r[5],
                r[6],
            )
            for r in rows
        ]

    async def start_attempt(
        self,
        contest_id: int,
        round_number: int,
        member: Member,
        number: int,
        layout: list[tuple[str, list[int]]],
        started_ms: int,
    ) -> int | None:
        """Create attempt ``number``; None when it already exists (a double tap)."""
        rows = await self._committer().write_returning(
            "INSERT OR IGNORE INTO contest_attempts (contest_id, round, member_id, number,"
            " unit_code, category, layout, started_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                contest_id,
                round_number,
                member.id,
                number,
                member.unit_code,
                member.category,
                json.dumps(layout, ensure_ascii=False),
                started_ms,
            ),
        )
        return rows[0][0] if rows else None

    async def answered(self, attempt_id: int) -> int:
        """How many questions of the attempt have an answer."""
        rows = await self._read(
            "SELECT count(*) FROM contest_answers WHERE attempt_id = ?", (attempt_id,)
        )
        return rows[0][0]

    @staticmethod
    def answer_statement(
        attempt_id: int,
        position: int,
        question_id: str,
        option: int,
        *,
        correct: bool,
        late: bool,
        shown_ms: int,
        answered_ms: int,
    ) -> Statement:
        """The row of one answer, for the turn to commit with its dialog (a repeat is ignored)."""
        return (
            "INSERT OR IGNORE INTO contest_answers (attempt_id, position, question_id, option,"
            " correct, late, shown_ms, answered_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                attempt_id,
                position,
                question_id,
                option,
                int(correct),
                int(late),
                shown_ms,
                answered_ms,
            ),
        )

    async def submit(self, attempt_id: int, prediction: int, submitted_ms: int) -> int | None:
        """Submit the attempt if its round is still open; its correct count, else None."""
        rows = await self._committer().write_returning(
            "UPDATE contest_attempts SET prediction = ?, submitted_ms = ?, correct ="
            " (SELECT coalesce(sum(correct), 0) FROM contest_answers WHERE attempt_id = ?)"
            " WHERE id = ? AND submitted_ms IS NULL AND (SELECT closed_at IS NULL AND"
            " closes_at * 1000 > ? FROM contest_rounds r WHERE r.contest_id ="
            " contest_attempts.contest_id AND r.round = contest_attempts.round)"
            " RETURNING correct",
            (prediction, submitted_ms, attempt_id, attempt_id, submitted_ms),
        )
        return rows[0][0] if rows else None

    async def answers(self, attempt_id: int) -> list[tuple]:
        """(position, question id, option, correct, late, shown_ms, answered_ms) of an attempt."""
        return [
            tuple(r)
            for r in await self._read(
                "SELECT position, question_id, option, correct, late, shown_ms, answered_ms"
                " FROM contest_answers WHERE attempt_id = ? ORDER BY position",
                (attempt_id,),
            )
        ]

    # -- closing -------------------------------------------------------------------------

    async def rounds_to_close(self, before: int) -> list[tuple[int, int]]:
        """(contest, round) of rounds that closed before ``before`` and are not ranked yet."""
        rows = await self._read(
            "SELECT contest_id, round FROM contest_rounds WHERE closed_at IS NULL"
            " AND closes_at <= ? ORDER BY closes_at",
            (before,),
        )
        return [(r[0], r[1]) for r in rows]

    async def entries(self, contest_id: int, round_number: int) -> list[tuple[Entry, str, str]]:
        """Every submitted attempt of a round as a ranking entry, with its unit and category."""
        rows = await self._read(
            "SELECT id, member_id, correct, prediction, submitted_ms - started_ms,"
            " submitted_ms, unit_code, category FROM contest_attempts"
            " WHERE contest_id = ? AND round = ? AND submitted_ms IS NOT NULL",
            (contest_id, round_number),
        )
        return [
            # An erased member's attempts keep a stand-in person: they still count, once each.
            (Entry(r[0], r[1] if r[1] is not None else -r[0], r[2], r[3], r[4], r[5]), r[6], r[7])
            for r in rows
        ]

    async def close_round(self, contest: Contest, round_number: int, now: int) -> list[Ranked]:
        """Rank the round and store the results, in one transaction (all of it or nothing).

        Telling everyone is a second step (``queue_results``), so the ranking is final as
        soon as possible and a crash in between only delays the messages.
        """
        rows = await self.entries(contest.id, round_number)
        units = {entry.attempt_id: (unit, category) for entry, unit, category in rows}
        entries = [entry for entry, _, _ in rows]
        actual = actual_number(entries, contest.tiebreak, contest.questions_per_round)
        ranked = rank(entries, actual)
        results = [
            (
                contest.id,
                round_number,
                r.rank,
                r.entry.attempt_id,
                r.entry.person if r.entry.person > 0 else None,
                *units[r.entry.attempt_id],
                r.entry.correct,
                r.distance,
                r.entry.duration_ms,
                r.entry.submitted_ms,
            )
            for r in ranked
        ]
        await self._committer().write_bulk(
            [
                (
                    "UPDATE contest_rounds SET actual = ?, closed_at = ?"
                    " WHERE contest_id = ? AND round = ? AND closed_at IS NULL",
                    [(actual, now, contest.id, round_number)],
                ),
                (
                    "INSERT INTO contest_results (contest_id, round, rank, attempt_id,"
                    " member_id, unit_code, category, correct, distance, duration_ms,"
                    " submitted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    results,
                ),
            ]
        )
        self._cache.pop(contest.id, None)
        return ranked

    async def rounds_to_notify(self) -> list[tuple[int, int]]:
        """(contest, round) of ranked rounds whose results are not queued yet."""
        rows = await self._read(
            "SELECT contest_id, round FROM contest_rounds"
            " WHERE closed_at IS NOT NULL AND notified_at IS NULL ORDER BY closed_at",
            (),
        )
        return [(r[0], r[1]) for r in rows]

    async def queue_results(self, contest: Contest, round_number: int, now: int) -> None:
        """Queue each entrant's result and the organizer's summary (idempotent keys)."""
        ref = f"contest:{contest.id}"
        await self._committer().write(
            [
                (
                    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind,"
                    " ref, payload, priority, not_before, created_at, updated_at)"
                    " SELECT 'contest_result:' || r.contest_id || ':' || r.round || ':'"
                    " || r.member_id || ':' || a.channel, a.channel, a.external_id,"
                    " r.member_id, ?, ?, json_object('contest', r.contest_id, 'round', r.round),"
                    " ?, ?, ?, ? FROM contest_results r JOIN accounts a"
                    " ON a.member_id = r.member_id AND a.reachable = 1"
                    " WHERE r.contest_id = ? AND r.round = ?",
                    (
                        CONTEST_RESULT,
                        ref,
                        NOTICE_PRIORITY,
                        now,
                        now,
                        now,
                        contest.id,
                        round_number,
                    ),
                ),
                (
                    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind,"
                    " ref, payload, priority, not_before, created_at, updated_at)"
                    " SELECT ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ? WHERE ? != ''",
                    (
                        f"contest_summary:{contest.id}:{round_number}",
                        contest.creator_channel,
                        contest.creator_account,
                        CONTEST_SUMMARY,
                        ref,
                        json.dumps({"contest": contest.id, "round": round_number}),
                        NOTICE_PRIORITY,
                        now,
                        now,
                        now,
                        contest.creator_account,
                    ),
                ),
                (
                    "UPDATE contest_rounds SET notified_at = ? WHERE contest_id = ? AND round = ?",
                    (now, contest.id, round_number),
                ),
            ]
        )

    # -- results -------------------------------------------------------------------------

    async def results(
        self, contest_id: int, round_number: int, path: str, limit: int = -1
    ) -> list[ResultRow]:
        """The ranking of a round within a unit subtree (``limit`` rows; -1 for all)."""
        rows = await self._read(
            "SELECT r.rank, r.member_id, coalesce(m.full_name, ''), r.unit_code, r.category,"
            " r.correct, a.prediction, r.distance, r.duration_ms, r.submitted_ms"
            " FROM contest_results r JOIN units u ON u.code = r.unit_code"
            " JOIN contest_attempts a ON a.id = r.attempt_id"
            " LEFT JOIN members m ON m.id = r.member_id"
            f" WHERE r.contest_id = ? AND r.round = ? AND {_UNIT_IN}"
            " ORDER BY r.rank LIMIT ?",
            (contest_id, round_number, path, path, limit),
        )
        return [ResultRow(*r) for r in rows]

    async def own_result(
        self, contest_id: int, round_number: int, member_id: int, path: str
    ) -> tuple[ResultRow, int, int] | None:
        """The member's row, their place within ``path`` and how many are ranked there."""
        rows = await self._read(
            "SELECT r.rank, r.member_id, coalesce(m.full_name, ''), r.unit_code, r.category,"
            " r.correct, a.prediction, r.distance, r.duration_ms, r.submitted_ms"
            " FROM contest_results r JOIN contest_attempts a ON a.id = r.attempt_id"
            " LEFT JOIN members m ON m.id = r.member_id"
            " WHERE r.contest_id = ? AND r.round = ? AND r.member_id = ?",
            (contest_id, round_number, member_id),
        )
        if not rows:
            return None
        own = ResultRow(*rows[0])
        counts = await self._read(
            "SELECT count(*), sum(r.rank <= ?) FROM contest_results r"
            f" JOIN units u ON u.code = r.unit_code WHERE r.contest_id = ? AND r.round = ?"
            f" AND {_UNIT_IN}",
            (own.rank, contest_id, round_number, path, path),
        )
        total, place = counts[0]
        return own, place or 0, total

    async def standing(
        self, contest_id: int, round_number: int, path: str, categories: tuple[str, ...]
    ) -> Standing:
        """Entrants ÷ registered members of the target categories, and the average score."""
        cats = json.dumps(list(categories))
        entered = await self._read(
            "SELECT count(*), avg(r.correct) FROM contest_results r"
            f" JOIN units u ON u.code = r.unit_code WHERE r.contest_id = ? AND r.round = ?"
            f" AND {_UNIT_IN}",
            (contest_id, round_number, path, path),
        )
        members = await self._read(
            "SELECT count(*) FROM members m JOIN units u ON u.code = m.unit_code"
            f" WHERE {_UNIT_IN} AND (? = '[]' OR m.category IN (SELECT value FROM json_each(?)))",
            (path, path, cats, cats),
        )
        return Standing("", entered[0][0], members[0][0], entered[0][1])

    async def entrants_so_far(self, contest_id: int, round_number: int) -> tuple[int, int]:
        """(members who submitted, attempts started) in a round that may still be open."""
        rows = await self._read(
            "SELECT count(DISTINCT CASE WHEN submitted_ms IS NOT NULL THEN"
            " coalesce(member_id, -id) END), count(*) FROM contest_attempts"
            " WHERE contest_id = ? AND round = ?",
            (contest_id, round_number),
        )
        return rows[0][0], rows[0][1]
