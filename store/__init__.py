"""Persistence behind one interface; SQLite is the embedded default."""

from store.records import Approval, ApprovalState, AuditRecord
from store.sqlite import SQLiteStore

__all__ = ["Approval", "ApprovalState", "AuditRecord", "SQLiteStore"]
