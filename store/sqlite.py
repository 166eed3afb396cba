"""The SQLite store: the embedded default for a single process.

Idempotency lives here, not in memory: a state change is a conditional UPDATE
that succeeds for exactly one caller, and a platform delivery id is claimed
with an INSERT that succeeds only the first time.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiosqlite

from store.records import Approval, ApprovalState, AuditRecord

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    parameters TEXT NOT NULL,
    ticket TEXT,
    requester TEXT NOT NULL,
    platform TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT,
    result TEXT,
    message_refs TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals (state, created_at);
CREATE TABLE IF NOT EXISTS approval_votes (
    approval_id TEXT NOT NULL REFERENCES approvals (id),
    person TEXT NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (approval_id, person)
);
CREATE TABLE IF NOT EXISTS conversation_refs (
    platform TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (platform, conversation_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    platform TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    platform_user TEXT NOT NULL,
    person TEXT,
    command TEXT NOT NULL,
    action TEXT,
    target TEXT,
    parameters TEXT NOT NULL,
    ticket TEXT,
    decision TEXT NOT NULL,
    result TEXT NOT NULL,
    request_id TEXT NOT NULL,
    approval_id TEXT
);
"""


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class SQLiteStore:
    """Approvals, votes, conversation references, delivery ids and the audit log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await self._db.executescript(SCHEMA)
        await self._db.commit()
        log.info("store opened at %s", self.path)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
            log.info("store closed")

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    # Approvals

    async def create_approval(self, approval: Approval) -> None:
        await self.db.execute(
            "INSERT INTO approvals (id, action, parameters, ticket, requester, platform, channel_id,"
            " created_at, expires_at, state, message_refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                approval.id,
                approval.action,
                json.dumps(approval.parameters),
                approval.ticket,
                approval.requester,
                approval.platform,
                approval.channel_id,
                _text(approval.created_at),
                _text(approval.expires_at),
                approval.state.value,
                json.dumps(approval.message_refs),
            ),
        )
        await self.db.commit()

    async def get_approval(self, approval_id: str) -> Approval | None:
        async with self.db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return await self._approval_from_row(row)

    async def list_approvals(self, state: ApprovalState, limit: int = 50) -> list[Approval]:
        async with self.db.execute(
            "SELECT * FROM approvals WHERE state = ? ORDER BY created_at LIMIT ?", (state.value, limit)
        ) as cursor:
            rows = await cursor.fetchall()
        return [await self._approval_from_row(row) for row in rows]

    async def add_message_ref(self, approval_id: str, ref: dict[str, Any]) -> None:
        # json_insert appends inside one statement, so concurrent posts never lose a reference.
        await self.db.execute(
            "UPDATE approvals SET message_refs = json_insert(message_refs, '$[#]', json(?)) WHERE id = ?",
            (json.dumps(ref), approval_id),
        )
        await self.db.commit()

    async def add_vote(self, approval_id: str, person: str, now: datetime) -> int:
        """Record one approver's vote (a repeated vote is ignored); return the number of votes."""
        await self.db.execute(
            "INSERT OR IGNORE INTO approval_votes (approval_id, person, voted_at) VALUES (?, ?, ?)",
            (approval_id, person, _text(now)),
        )
        await self.db.commit()
        async with self.db.execute(
            "SELECT COUNT(*) FROM approval_votes WHERE approval_id = ?", (approval_id,)
        ) as cursor:
            (count,) = await cursor.fetchone()
        return int(count)

    async def transition(
        self,
        approval_id: str,
        from_state: ApprovalState,
        to_state: ApprovalState,
        **fields: Any,
    ) -> bool:
        """Move an approval from one state to another; return False when it was not in `from_state`.

        Only one caller can win a given transition, which is what makes double
        clicks and retried deliveries execute at most once.
        """
        columns = {"state": to_state.value}
        for name, value in fields.items():
            if name not in {"decided_by", "decided_at", "reason", "result"}:
                raise ValueError(f"unknown approval field {name!r}")
            if isinstance(value, datetime):
                value = _text(value)
            elif isinstance(value, dict):
                value = json.dumps(value)
            columns[name] = value

        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor = await self.db.execute(
            f"UPDATE approvals SET {assignments} WHERE id = ? AND state = ?",
            (*columns.values(), approval_id, from_state.value),
        )
        await self.db.commit()
        return cursor.rowcount == 1

    async def _approval_from_row(self, row: aiosqlite.Row) -> Approval:
        async with self.db.execute(
            "SELECT person FROM approval_votes WHERE approval_id = ? ORDER BY voted_at", (row["id"],)
        ) as cursor:
            approvers = [vote["person"] for vote in await cursor.fetchall()]
        return Approval(
            id=row["id"],
            action=row["action"],
            parameters=json.loads(row["parameters"]),
            ticket=row["ticket"],
            requester=row["requester"],
            platform=row["platform"],
            channel_id=row["channel_id"],
            created_at=_time(row["created_at"]),
            expires_at=_time(row["expires_at"]),
            state=ApprovalState(row["state"]),
            approvers=approvers,
            decided_by=row["decided_by"],
            decided_at=_time(row["decided_at"]),
            reason=row["reason"],
            result=json.loads(row["result"]) if row["result"] else None,
            message_refs=json.loads(row["message_refs"]),
        )

    # Conversation references and deliveries

    async def save_conversation_ref(self, platform: str, conversation_id: str, reference: dict[str, Any]) -> None:
        await self.db.execute(
            "INSERT INTO conversation_refs (platform, conversation_id, reference, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, conversation_id) DO UPDATE SET reference = excluded.reference,"
            " updated_at = excluded.updated_at",
            (platform, conversation_id, json.dumps(reference), _text(datetime.now(timezone.utc))),
        )
        await self.db.commit()

    async def get_conversation_ref(self, platform: str, conversation_id: str) -> dict[str, Any] | None:
        async with self.db.execute(
            "SELECT reference FROM conversation_refs WHERE platform = ? AND conversation_id = ?",
            (platform, conversation_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else json.loads(row["reference"])

    async def claim_delivery(self, key: str) -> bool:
        """Return True the first time a delivery key is seen, False for a retry."""
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO deliveries (key, received_at) VALUES (?, ?)",
            (key, _text(datetime.now(timezone.utc))),
        )
        await self.db.commit()
        return cursor.rowcount == 1

    # Audit

    async def append_audit(self, record: AuditRecord) -> None:
        await self.db.execute(
            "INSERT INTO audit (time, platform, channel_id, platform_user, person, command, action, target,"
            " parameters, ticket, decision, result, request_id, approval_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _text(record.time),
                record.platform,
                record.channel_id,
                record.platform_user,
                record.person,
                record.command,
                record.action,
                record.target,
                json.dumps(record.parameters),
                record.ticket,
                record.decision,
                record.result,
                record.request_id,
                record.approval_id,
            ),
        )
        await self.db.commit()

    async def list_audit(self, limit: int = 100) -> list[AuditRecord]:
        async with self.db.execute("SELECT * FROM audit ORDER BY seq LIMIT ?", (limit,)) as cursor:
            rows = await cursor.fetchall()
        return [
            AuditRecord(
                time=_time(row["time"]),
                platform=row["platform"],
                channel_id=row["channel_id"],
                platform_user=row["platform_user"],
                person=row["person"],
                command=row["command"],
                action=row["action"],
                target=row["target"],
                parameters=json.loads(row["parameters"]),
                ticket=row["ticket"],
                decision=row["decision"],
                result=row["result"],
                request_id=row["request_id"],
                approval_id=row["approval_id"],
            )
            for row in rows
        ]
