"""SQLite persistence of submissions, jobs, results and deliveries.

Every state change is one transaction, so a process killed at any instant leaves each row either
before or after a change, never half-way. The database runs in WAL mode with `synchronous=FULL`:
a 202 is only sent after the accepting transaction is on disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grader import strict_json
from grader.service.ratelimit import ResubmissionLimit, resubmission_wait

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    assignment TEXT NOT NULL,
    student_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content BLOB NOT NULL,
    content_sha256 TEXT NOT NULL,
    callback_url TEXT,
    lti TEXT,
    received_at REAL NOT NULL,
    UNIQUE (client, webhook_id)
);
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions (client, student_id, assignment, received_at);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY REFERENCES submissions (id),
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL,
    lease_token TEXT,
    lease_expires_at REAL,
    last_error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, not_before);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id),
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    report TEXT NOT NULL,
    graded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    client TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('callback', 'lti')),
    url TEXT NOT NULL,
    payload BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    leased_until REAL,
    last_status INTEGER,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (job_id, kind)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS disabled_endpoints (
    client TEXT NOT NULL,
    url TEXT NOT NULL,
    disabled_at REAL NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (client, url)
);
CREATE TABLE IF NOT EXISTS lti_students (
    client TEXT NOT NULL,
    assignment TEXT NOT NULL,
    student_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (client, assignment, student_id)
);
CREATE TABLE IF NOT EXISTS lti_handoffs (
    token_sha256 TEXT PRIMARY KEY,
    launch TEXT NOT NULL,
    page TEXT NOT NULL,
    expires_at REAL NOT NULL,
    session_expires_at REAL NOT NULL
);
"""

# Databases written before disabled endpoints were kept per client had one row per URL. Each URL
# stays disabled for the clients whose own delivery to it was answered 410; the others may call it.
_DISABLED_ENDPOINTS_PER_CLIENT = """
ALTER TABLE disabled_endpoints RENAME TO disabled_endpoints_by_url;
CREATE TABLE disabled_endpoints (
    client TEXT NOT NULL,
    url TEXT NOT NULL,
    disabled_at REAL NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (client, url)
);
INSERT OR IGNORE INTO disabled_endpoints (client, url, disabled_at, reason)
    SELECT d.client, old.url, old.disabled_at, old.reason FROM disabled_endpoints_by_url old
    JOIN deliveries d ON d.url = old.url AND d.last_status = 410;
DROP TABLE disabled_endpoints_by_url;
"""

# LTI launches: the logins we started (one row per nonce, bound to the browser's state) and the
# sessions launches opened. Ids are stored as SHA-256 hashes: reading the database opens no session.
_LTI_SCHEMA = """
CREATE TABLE IF NOT EXISTS lti_logins (
    nonce TEXT PRIMARY KEY,
    state_sha256 TEXT NOT NULL,
    client TEXT NOT NULL,
    login_query TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lti_sessions (
    id_sha256 TEXT PRIMARY KEY,
    launch TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""


HELD_STATUS = "internal_error"
"""A result with this status is held for a person: it is never published as a grade."""


class ConflictError(Exception):
    """A webhook-id we already accepted, sent again with a different body."""


class ResubmissionLimitReached(Exception):
    """The student has used every submission of this assignment the window allows."""

    def __init__(self, limit: ResubmissionLimit, wait_seconds: float) -> None:
        super().__init__(f"{limit.count} submissions per {limit.window_seconds:g} s used; wait {wait_seconds:.0f} s")
        self.limit = limit
        self.wait_seconds = wait_seconds


@dataclasses.dataclass(frozen=True)
class NewSubmission:
    """A verified, validated submission about to be stored."""

    client: str
    webhook_id: str
    request_sha256: str
    assignment: str
    student_id: str
    filename: str
    content: bytes
    content_sha256: str
    callback_url: str | None
    lti: dict[str, Any] | None


@dataclasses.dataclass
class _Acceptance:
    """A submission waiting for the next accepting transaction, and how it went once that one ended."""

    sub: NewSubmission
    now: float
    limit: ResubmissionLimit | None
    outcome: tuple[str, bool] | BaseException | None = None
    settled: bool = False

    def settle(self, outcome: tuple[str, bool] | BaseException) -> None:
        self.outcome = outcome
        self.settled = True


@dataclasses.dataclass(frozen=True)
class ClaimedJob:
    """A job this process holds the lease on, with what grading needs."""

    id: str
    lease_token: str
    attempts: int
    client: str
    assignment: str
    student_id: str
    filename: str
    content: bytes
    content_sha256: str
    callback_url: str | None
    lti: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class Result:
    """How grading one job ended."""

    status: str
    score: float
    max_score: float
    report: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class NewDelivery:
    """An outbound message to create together with a result."""

    kind: str
    url: str
    payload: bytes


@dataclasses.dataclass(frozen=True)
class Delivery:
    """An outbound message this process holds the lease on."""

    id: str
    job_id: str
    client: str
    kind: str
    url: str
    payload: bytes
    attempts: int


class Store:
    """All SQLite access of the service; thread-safe through one connection per thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        # One writer at a time inside the process: waiting on a Python lock wakes at once, whereas
        # SQLite's busy handler sleeps in growing steps and made the 202 latency spiky.
        self._write_lock = threading.Lock()
        self._acceptances: list[_Acceptance] = []
        self._acceptances_lock = threading.Lock()
        # executescript commits on its own, so the schema is created outside _write.
        self._conn().executescript(_SCHEMA + _LTI_SCHEMA)
        self._migrate()
        self._forget_remote_answers()

    def close(self) -> None:
        """Close every connection opened by any thread."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _migrate(self) -> None:
        """Bring a database written by an older version to the current schema."""
        conn = self._conn()
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(disabled_endpoints)")}
        if "client" not in columns:
            conn.executescript(f"BEGIN IMMEDIATE; {_DISABLED_ENDPOINTS_PER_CLIENT} COMMIT;")

    def _forget_remote_answers(self) -> None:
        """Cut delivery errors written before version 1 to their first part ("HTTP 503", "ConnectError").

        Those rows kept up to 200 bytes of what the receiver answered, or httpx messages that can
        quote it; since version 1 only the status and our own words are stored.
        """
        with self._write() as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= 1:
                return
            conn.execute(
                "UPDATE deliveries SET last_error = substr(last_error, 1, instr(last_error, ':') - 1)"
                " WHERE instr(last_error, ':') > 0"
            )
            conn.execute("PRAGMA user_version = 1")

    # Submissions ---------------------------------------------------------------------------

    def accept(self, sub: NewSubmission, now: float, *, limit: ResubmissionLimit | None = None) -> tuple[str, bool]:
        """Store a submission and its job; return (job id, created) — created is False for a replay.

        With `limit`, a new submission beyond the student's resubmission limit raises
        ResubmissionLimitReached; a replay is answered regardless, as it is no new submission.

        Submissions that arrive while another transaction holds the write lock are written together
        in the next one, in arrival order: one fsync for all of them, which is what a 202 waits for.
        """
        mine = _Acceptance(sub, now, limit)
        with self._acceptances_lock:
            self._acceptances.append(mine)
        with self._write_lock:
            if not mine.settled:
                self._accept_waiting()
        if isinstance(mine.outcome, BaseException):
            raise mine.outcome
        assert mine.outcome is not None, "settled above"
        return mine.outcome

    def _accept_waiting(self) -> None:
        """Write every waiting acceptance in one transaction (the caller holds the write lock)."""
        with self._acceptances_lock:
            batch, self._acceptances = self._acceptances, []
        try:
            with self._transaction() as conn:
                outcomes = [self._accept_one(conn, acceptance) for acceptance in batch]
        except BaseException as error:
            for acceptance in batch:
                acceptance.settle(error)
            raise
        for acceptance, outcome in zip(batch, outcomes):
            acceptance.settle(outcome)

    def _accept_one(
        self, conn: sqlite3.Connection, acceptance: _Acceptance
    ) -> tuple[str, bool] | ConflictError | ResubmissionLimitReached:
        """One acceptance inside the batch's transaction; a refusal is returned, having written nothing."""
        sub, now, limit = acceptance.sub, acceptance.now, acceptance.limit
        row = conn.execute(
            "SELECT id, request_sha256 FROM submissions WHERE client = ? AND webhook_id = ?",
            (sub.client, sub.webhook_id),
        ).fetchone()
        if row is not None:
            if row["request_sha256"] != sub.request_sha256:
                return ConflictError(f"webhook-id {sub.webhook_id!r} was already used for a different body")
            return row["id"], False
        if limit is not None:
            wait = resubmission_wait(self._counted_submissions(conn, sub, now - limit.window_seconds), limit, now)
            if wait > 0:
                return ResubmissionLimitReached(limit, wait)
        job_id = f"job_{uuid.uuid4().hex}"
        conn.execute(
            "INSERT INTO submissions (id, client, webhook_id, request_sha256, assignment, student_id,"
            " filename, content, content_sha256, callback_url, lti, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id, sub.client, sub.webhook_id, sub.request_sha256, sub.assignment, sub.student_id,
                sub.filename, sub.content, sub.content_sha256, sub.callback_url,
                strict_json.dumps(sub.lti) if sub.lti is not None else None, now,
            ),
        )
        conn.execute(
            "INSERT INTO jobs (id, state, not_before, created_at) VALUES (?, 'queued', ?, ?)",
            (job_id, now, now),
        )
        return job_id, True

    @staticmethod
    def _counted_submissions(conn: sqlite3.Connection, sub: NewSubmission, since: float) -> list[float]:
        """When this student's submissions of this assignment after `since` arrived, oldest first.

        Runs that ended `internal_error` are our failure, not the student's, and are not counted.
        """
        rows = conn.execute(
            "SELECT s.received_at FROM submissions s LEFT JOIN results r ON r.job_id = s.id"
            " WHERE s.client = ? AND s.student_id = ? AND s.assignment = ? AND s.received_at > ?"
            " AND (r.status IS NULL OR r.status != 'internal_error') ORDER BY s.received_at",
            (sub.client, sub.student_id, sub.assignment, since),
        ).fetchall()
        return [row["received_at"] for row in rows]

    # Jobs ----------------------------------------------------------------------------------

    def recover(self, now: float) -> int:
        """Re-queue jobs left running and free deliveries left in flight by a dead process.

        Only called while this process holds the database's lock file, so no live process owns them.
        """
        with self._write() as conn:
            requeued = conn.execute(
                "UPDATE jobs SET state = 'queued', lease_token = NULL, lease_expires_at = NULL, not_before = ?"
                " WHERE state = 'running'",
                (now,),
            ).rowcount
            conn.execute("UPDATE deliveries SET leased_until = NULL WHERE state = 'pending'")
            return requeued

    def claim_job(self, now: float, lease_seconds: float) -> ClaimedJob | None:
        """Take the oldest runnable job (queued, or running with an expired lease) under a new lease."""
        runnable = (
            "SELECT id FROM jobs WHERE (state = 'queued' AND not_before <= ?)"
            " OR (state = 'running' AND lease_expires_at <= ?) ORDER BY created_at LIMIT 1"
        )
        # Idle workers poll; a plain read first keeps them from taking the write lock for nothing.
        if not self._conn().execute(runnable, (now, now)).fetchall():
            return None
        with self._write() as conn:
            row = conn.execute(runnable, (now, now)).fetchone()
            if row is None:
                return None
            token = uuid.uuid4().hex
            conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = ?,"
                " lease_expires_at = ?, started_at = ? WHERE id = ?",
                (token, now + lease_seconds, now, row["id"]),
            )
            job = conn.execute(
                "SELECT j.id, j.attempts, s.client, s.assignment, s.student_id, s.filename, s.content,"
                " s.content_sha256, s.callback_url, s.lti FROM jobs j JOIN submissions s ON s.id = j.id"
                " WHERE j.id = ?",
                (row["id"],),
            ).fetchone()
            return ClaimedJob(
                id=job["id"], lease_token=token, attempts=job["attempts"], client=job["client"],
                assignment=job["assignment"], student_id=job["student_id"], filename=job["filename"],
                content=job["content"], content_sha256=job["content_sha256"], callback_url=job["callback_url"],
                lti=json.loads(job["lti"]) if job["lti"] else None,
            )

    def renew_leases(self, tokens: Sequence[str], until: float) -> None:
        """Extend the leases of jobs still being graded by this process."""
        if not tokens:
            return
        with self._write() as conn:
            conn.executemany(
                "UPDATE jobs SET lease_expires_at = ? WHERE lease_token = ? AND state = 'running'",
                [(until, token) for token in tokens],
            )

    def complete_job(
        self, job: ClaimedJob, result: Result, deliveries: Sequence[NewDelivery], now: float
    ) -> bool:
        """Record the result and its outbound deliveries in one transaction.

        Returns False (and changes nothing) when the lease was lost, so a job is completed once.
        """
        # Encoded before the write lock is taken: a submission's 202 waits for that lock.
        report = strict_json.dumps(result.report)
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE jobs SET state = 'done', finished_at = ?, lease_token = NULL, lease_expires_at = NULL"
                " WHERE id = ? AND lease_token = ? AND state = 'running'",
                (now, job.id, job.lease_token),
            ).rowcount
            if updated == 0:
                return False
            conn.execute(
                "INSERT INTO results (job_id, status, score, max_score, report, graded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (job.id, result.status, result.score, result.max_score, report, now),
            )
            conn.executemany(
                "INSERT INTO deliveries (id, job_id, client, kind, url, payload, state, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                [
                    (f"msg_{uuid.uuid4().hex}", job.id, job.client, d.kind, d.url, d.payload, now, now)
                    for d in deliveries
                ],
            )
            return True

    # Deliveries ----------------------------------------------------------------------------

    def claim_delivery(self, now: float, lease_seconds: float) -> Delivery | None:
        """Take the most overdue pending delivery for one attempt."""
        due = (
            "SELECT id, job_id, client, kind, url, payload, attempts FROM deliveries"
            " WHERE state = 'pending' AND next_attempt_at <= ? AND (leased_until IS NULL OR leased_until <= ?)"
            " ORDER BY next_attempt_at LIMIT 1"
        )
        if not self._conn().execute(due, (now, now)).fetchall():
            return None
        with self._write() as conn:
            row = conn.execute(due, (now, now)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE deliveries SET leased_until = ? WHERE id = ?", (now + lease_seconds, row["id"]))
            return Delivery(**dict(row))

    def record_attempt(
        self,
        delivery_id: str,
        *,
        state: str,
        status: int | None,
        error: str | None,
        next_attempt_at: float,
        now: float,
    ) -> None:
        """Store how one delivery attempt ended and what happens next."""
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?,"
                " next_attempt_at = ?, leased_until = NULL, delivered_at = CASE WHEN ? = 'delivered' THEN ? END"
                " WHERE id = ?",
                (state, status, error, next_attempt_at, state, now, delivery_id),
            )

    def disable_endpoint(self, client: str, url: str, reason: str, now: float) -> None:
        """Remember that a receiver asked (with 410 Gone) never to be called again for this client.

        Per client: a client pointing its callbacks at another client's receiver must not be able
        to switch that receiver off for the other client.
        """
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO disabled_endpoints (client, url, disabled_at, reason) VALUES (?, ?, ?, ?)",
                (client, url, now, reason),
            )

    def is_disabled(self, client: str, url: str) -> bool:
        """Whether `url` answered 410 Gone to one of this client's deliveries before."""
        row = self._conn().execute(
            "SELECT 1 FROM disabled_endpoints WHERE client = ? AND url = ?", (client, url)
        ).fetchone()
        return row is not None

    # Reading -------------------------------------------------------------------------------

    def job_status(self, job_id: str, *, client: str | None = None) -> dict[str, Any] | None:
        """Everything the status endpoint shows about one job, or None if there is no such job.

        With `client`, another client's job is None as well: it is not theirs to see, not even to exist.
        """
        conn = self._conn()
        job = conn.execute(
            "SELECT j.id, j.state, j.attempts, j.last_error, j.created_at, j.finished_at, s.client, s.assignment,"
            " s.student_id, s.filename, s.content_sha256 FROM jobs j JOIN submissions s ON s.id = j.id"
            " WHERE j.id = ? AND (? IS NULL OR s.client = ?)",
            (job_id, client, client),
        ).fetchone()
        if job is None:
            return None
        result = conn.execute("SELECT * FROM results WHERE job_id = ?", (job_id,)).fetchone()
        deliveries = conn.execute(
            "SELECT id, kind, url, state, attempts, last_status, last_error, next_attempt_at, delivered_at"
            " FROM deliveries WHERE job_id = ? ORDER BY kind",
            (job_id,),
        ).fetchall()
        return {
            "job": dict(job),
            "result": {**dict(result), "report": json.loads(result["report"])} if result else None,
            "deliveries": [dict(d) for d in deliveries],
        }

    def held(self) -> int:
        """Jobs held for a person (done as internal_error), for the metrics endpoint."""
        return int(self._conn().execute("SELECT COUNT(*) FROM results WHERE status = ?", (HELD_STATUS,)).fetchone()[0])

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per state of jobs and of deliveries, for the metrics endpoint."""
        conn = self._conn()
        return {
            "jobs": dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()),
            "deliveries": dict(conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()),
        }

    # LTI logins and sessions ---------------------------------------------------------------

    def start_lti_login(
        self, *, nonce: str, state_sha256: str, client: str, login_query: str, expires_at: float, now: float,
        limit: int,
    ) -> bool:
        """Remember a login we sent to a platform (and the platform's request that started it) until
        its launch comes back or it expires.

        False (nothing stored) when `limit` logins are pending: anyone can start one, so their
        number is bounded, not the database.
        """
        with self._write() as conn:
            conn.execute("DELETE FROM lti_logins WHERE expires_at <= ?", (now,))
            if conn.execute("SELECT COUNT(*) FROM lti_logins").fetchone()[0] >= limit:
                return False
            conn.execute(
                "INSERT INTO lti_logins (nonce, state_sha256, client, login_query, expires_at) VALUES (?, ?, ?, ?, ?)",
                (nonce, state_sha256, client, login_query, expires_at),
            )
            return True

    def lti_login(self, nonce: str, now: float) -> dict[str, Any] | None:
        """The unexpired login `nonce` belongs to (state hash, client, login query, used), unchanged; or None."""
        row = self._conn().execute(
            "SELECT state_sha256, client, login_query, used FROM lti_logins WHERE nonce = ? AND expires_at > ?",
            (nonce, now),
        ).fetchone()
        return None if row is None else dict(row) | {"used": bool(row["used"])}

    def finish_lti_login(self, nonce: str, now: float) -> dict[str, Any] | None:
        """The login `nonce` belongs to, marked used; `used` tells whether it was used before. None: unknown."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT state_sha256, client, login_query, used FROM lti_logins WHERE nonce = ? AND expires_at > ?",
                (nonce, now),
            ).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE lti_logins SET used = 1 WHERE nonce = ?", (nonce,))
            return dict(row) | {"used": bool(row["used"])}

    def open_lti_session(
        self, *, id_sha256: str, launch: dict[str, Any], csrf_token: str, now: float, expires_at: float
    ) -> None:
        """Store a session a verified launch opened; expired sessions go at the same time."""
        with self._write() as conn:
            conn.execute("DELETE FROM lti_sessions WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT INTO lti_sessions (id_sha256, launch, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (id_sha256, strict_json.dumps(launch), csrf_token, now, expires_at),
            )

    def lti_session(self, id_sha256: str, now: float) -> dict[str, Any] | None:
        """A session that has not expired: its launch, CSRF token and expiry; None otherwise."""
        row = self._conn().execute(
            "SELECT launch, csrf_token, expires_at FROM lti_sessions WHERE id_sha256 = ? AND expires_at > ?",
            (id_sha256, now),
        ).fetchone()
        if row is None:
            return None
        return {"launch": json.loads(row["launch"]), "csrf_token": row["csrf_token"], "expires_at": row["expires_at"]}

    # LTI pages -----------------------------------------------------------------------------

    def remember_student(self, client: str, assignment: str, student_id: str, name: str) -> None:
        """The name the platform gave for a student who handed in, for the class view (the latest wins)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO lti_students (client, assignment, student_id, name) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (client, assignment, student_id) DO UPDATE SET name = excluded.name",
                (client, assignment, student_id, name),
            )

    def start_handoff(
        self, *, token_sha256: str, launch: dict[str, Any], page: str, expires_at: float, session_expires_at: float,
        now: float,
    ) -> None:
        """Remember a launch a new window may take over once, until `expires_at`, for a session that ends at
        `session_expires_at`; expired ones go at the same time."""
        with self._write() as conn:
            conn.execute("DELETE FROM lti_handoffs WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT INTO lti_handoffs (token_sha256, launch, page, expires_at, session_expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_sha256, strict_json.dumps(launch), page, expires_at, session_expires_at),
            )

    def take_handoff(self, token_sha256: str, now: float) -> dict[str, Any] | None:
        """The launch, page and session end of an unexpired handoff, which is used up; None for an unknown or
        expired one."""
        with self._write() as conn:
            rows = conn.execute(
                "DELETE FROM lti_handoffs WHERE token_sha256 = ? AND expires_at > ?"
                " RETURNING launch, page, session_expires_at",
                (token_sha256, now),
            ).fetchall()
            if not rows:
                return None
            return {"launch": json.loads(rows[0]["launch"]), "page": rows[0]["page"],
                    "session_expires_at": rows[0]["session_expires_at"]}

    def attempts(self, client: str, assignment: str, student_id: str) -> list[dict[str, Any]]:
        """One student's submissions of an assignment, newest first, with their results and AGS state."""
        rows = self._conn().execute(
            "SELECT s.id, s.filename, s.received_at, j.state, r.status, r.score, r.max_score,"
            " (SELECT d.state FROM deliveries d WHERE d.job_id = s.id AND d.kind = 'lti') AS gradebook"
            " FROM submissions s JOIN jobs j ON j.id = s.id LEFT JOIN results r ON r.job_id = s.id"
            " WHERE s.client = ? AND s.assignment = ? AND s.student_id = ? ORDER BY s.received_at DESC",
            (client, assignment, student_id),
        ).fetchall()
        return [dict(row) for row in rows]

    def latest_attempts(self, client: str, assignment: str) -> list[dict[str, Any]]:
        """Each student's newest submission of an assignment, with its report, name and number of attempts."""
        rows = self._conn().execute(
            "SELECT * FROM (SELECT s.id, s.student_id, s.filename, s.received_at, j.state, r.status, r.score,"
            " r.max_score, r.report, n.name,"
            " ROW_NUMBER() OVER (PARTITION BY s.student_id ORDER BY s.received_at DESC) AS newest,"
            " COUNT(*) OVER (PARTITION BY s.student_id) AS attempts"
            " FROM submissions s JOIN jobs j ON j.id = s.id LEFT JOIN results r ON r.job_id = s.id"
            " LEFT JOIN lti_students n ON n.client = s.client AND n.assignment = s.assignment"
            " AND n.student_id = s.student_id"
            " WHERE s.client = ? AND s.assignment = ?) WHERE newest = 1 ORDER BY student_id",
            (client, assignment),
        ).fetchall()
        return [
            {**dict(row), "report": json.loads(row["report"]) if row["report"] else None} for row in rows
        ]

    # Connections ---------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit mode: transactions are opened explicitly by _write, never implicitly.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the process's write lock."""
        with self._write_lock, self._transaction() as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the caller holds the write lock); IMMEDIATE takes SQLite's lock up front
        so reads inside are consistent."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
