"""The personas of the API policy matrices and the one check they all make: an
allowed persona gets a success, any other Nova's 403 naming the policy, and a refusal
changes nothing."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

OWNER = "0wner"
OTHER = "07her"
#: persona -> (token ``user:project``, X-Roles or None for the default roles).
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
    "other_member": ("bob:" + OTHER, "member,reader"),
}
EVERYONE = frozenset(PERSONAS)
OWNERS = frozenset({"admin", "member", "reader"})
MEMBERS = frozenset({"admin", "member"})
ADMINS = frozenset({"admin"})


def headers_of(persona: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    roles = PERSONAS[persona][1]
    headers = {"X-Roles": roles} if roles else {}
    headers.update(extra or {})
    return headers


def assert_decision(testcase: Any, reply: Any, allowed: bool, rule: str, where: Any,
                    before: Any = None, after: Callable[[], Any] | None = None) -> None:
    """``reply`` succeeded when ``allowed``, else is the 403 of ``rule`` and ``after()``
    still equals ``before`` (nothing was changed)."""
    if allowed:
        testcase.assertLess(reply.code, 300, (where, reply.raw))
        return
    testcase.assertEqual({"forbidden": {
        "code": 403, "message": f"Policy doesn't allow {rule} to be performed."}},
        reply.json, where)
    if after is not None:
        testcase.assertEqual(before, after(), where)
