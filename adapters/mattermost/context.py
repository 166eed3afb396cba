"""Signing the `integration.context` of Mattermost interactive buttons.

Mattermost posts a button click to our URL with no signature of its own, so the
context we attach to each button carries an HMAC-SHA256 over the whole context.
Adding, removing or changing any key invalidates it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_KEY = "signature"


def _canonical(context: dict[str, Any]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_context(context: dict[str, Any], key: bytes) -> dict[str, Any]:
    """Return a copy of `context` with its signature added."""
    if SIGNATURE_KEY in context:
        raise ValueError(f"the context must not already contain {SIGNATURE_KEY!r}")
    digest = hmac.new(key, _canonical(context), hashlib.sha256).hexdigest()
    return {**context, SIGNATURE_KEY: digest}


def verify_context(signed: Any, key: bytes) -> dict[str, Any] | None:
    """Return the context without its signature when the signature is valid, else None."""
    if not isinstance(signed, dict):
        return None
    signature = signed.get(SIGNATURE_KEY)
    if not isinstance(signature, str):
        return None
    context = {name: value for name, value in signed.items() if name != SIGNATURE_KEY}
    expected = hmac.new(key, _canonical(context), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return None
    return context
