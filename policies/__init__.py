"""Identity mapping and the deny-by-default decision function."""

from policies.decision import ActionRequest, Decision, Outcome, decide_approval, decide_request
from policies.identity import Directory, Principal

__all__ = [
    "ActionRequest",
    "Decision",
    "Directory",
    "Outcome",
    "Principal",
    "decide_approval",
    "decide_request",
]
