"""Read an ``oslopolicy-sample-generator`` YAML sample back into rule records.

The reference (``../shared/reference/nova-zed-policy.yaml.sample``) is Nova 26's
generated sample. Everything in it except the prose (descriptions and deprecation
reasons) is a fact our defaults must match: names, check strings, scope types,
operations, and the deprecated rules with their check strings and releases.

The generator wraps the deprecation sentence (``"old":"old check" has been deprecated
since X in favor of "new":"check".``) at 70 columns, breaking on spaces and hyphens, so
the sentence is re-joined here and then wrapped again to prove it was read right.
"""
from __future__ import annotations

import dataclasses
import os
import re
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
#: The reference sample, beside the checkout (``../shared/reference`` from the repo).
SAMPLE_PATH = os.path.normpath(
    os.path.join(REPO, "..", "shared", "reference", "nova-zed-policy.yaml.sample"))

_RULE_LINE = re.compile(r'^#"(?P<name>[^"]+)": "(?P<check>.*)"$')
_OPERATION_LINE = re.compile(r"^# (?P<method>GET|POST|PUT|PATCH|DELETE|HEAD)  (?P<path>\S.*)$")
_SCOPE_LINE = re.compile(r"^# Intended scope\(s\): (?P<scopes>.+)$")
_REMOVAL_LINE = re.compile(r'^# "(?P<name>[^"]+)" has been deprecated since (?P<since>\S+)\.$')
_DEPRECATION = re.compile(
    r'^"(?P<old_name>[^"]+)":"(?P<old_check>[^"]*)" has been deprecated since '
    r'(?P<since>\S+) in favor of "(?P<name>[^"]+)":"(?P<check>[^"]*)"\.$')
_ALIAS_LINE = re.compile(r'^# "(?P<old_name>[^"]+)": "rule:(?P<name>[^"]+)"$')


@dataclasses.dataclass
class SampleRule:
    name: str
    check_str: str
    scope_types: list[str] | None = None
    operations: list[dict[str, str]] = dataclasses.field(default_factory=list)
    #: Set for a rule deprecated for removal (``admin_or_owner``, ``admin_api``).
    removal_since: str | None = None
    #: ``(old name, old check string, since)`` for a rule with a deprecated rule.
    deprecated: tuple[str, str, str] | None = None
    #: The prose before the operations, re-joined (to tell ours from Nova's).
    description: str = ""


class SampleFormatError(ValueError):
    """The sample has a shape this reader does not know; it names the line."""


def _join_wrapped(lines: list[str]) -> str:
    text = ""
    for line in lines:
        piece = line[2:] if line.startswith("# ") else line[1:]
        if not piece:
            continue
        if text and not text.endswith("-"):
            text += " "
        text += piece
    return text


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 70, initial_indent="# ", subsequent_indent="# ")


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            paragraphs[-1].append(line.rstrip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _read_deprecation(paragraph: list[str], rule: SampleRule) -> None:
    """The paragraph after a rule that names its deprecated rule."""
    end = next((i for i, line in enumerate(paragraph) if line.endswith('".')), None)
    if end is None:
        raise SampleFormatError(f"no end of the deprecation sentence: {paragraph[1]!r}")
    sentence_lines = paragraph[1:end + 1]
    sentence = _join_wrapped(sentence_lines)
    match = _DEPRECATION.match(sentence)
    if not match:
        raise SampleFormatError(f"unreadable deprecation sentence: {sentence!r}")
    if _wrap(sentence) != sentence_lines:
        raise SampleFormatError(f"deprecation sentence re-joined wrongly: {sentence!r}")
    if (match["name"], match["check"]) != (rule.name, rule.check_str):
        raise SampleFormatError(f"deprecation of {match['name']} follows {rule.name}")
    aliases = [m for m in map(_ALIAS_LINE.match, paragraph[end + 1:]) if m]
    renamed = match["old_name"] != rule.name
    if renamed and not (aliases and aliases[-1]["old_name"] == match["old_name"]
                        and aliases[-1]["name"] == rule.name):
        raise SampleFormatError(f"renamed rule {rule.name} without its alias line")
    if not renamed and aliases:
        raise SampleFormatError(f"alias line for the unrenamed rule {rule.name}")
    rule.deprecated = (match["old_name"], match["old_check"], match["since"])


def parse_sample(text: str) -> list[SampleRule]:
    """The rules of a generated policy sample, in the order the sample lists them."""
    rules: list[SampleRule] = []
    for paragraph in _paragraphs(text):
        rule_lines = [i for i, line in enumerate(paragraph) if _RULE_LINE.match(line)]
        if not rule_lines:
            if paragraph[0] == "# DEPRECATED" and rules and rules[-1].deprecated is None:
                _read_deprecation(paragraph, rules[-1])
                continue
            raise SampleFormatError(f"a paragraph without a rule: {paragraph[0]!r}")
        if rule_lines != [len(paragraph) - 1]:
            raise SampleFormatError(f"a rule line not closing its paragraph: {paragraph!r}")
        match = _RULE_LINE.match(paragraph[-1])
        assert match is not None
        rule = SampleRule(name=match["name"], check_str=match["check"])
        body = paragraph[:-1]
        prose_start = 0
        if body[:1] == ["# DEPRECATED"]:
            removal = _REMOVAL_LINE.match(body[1]) if len(body) > 1 else None
            if not removal or removal["name"] != rule.name:
                raise SampleFormatError(f"unreadable removal notice before {rule.name}")
            rule.removal_since = removal["since"]
            prose_start = 2
        # Operations and the scope line come last, just before the rule line.
        tail = len(body)
        if tail and (scope := _SCOPE_LINE.match(body[tail - 1])):
            rule.scope_types = [s.strip() for s in scope["scopes"].split(",")]
            tail -= 1
        first_op = tail
        while first_op and _OPERATION_LINE.match(body[first_op - 1]):
            first_op -= 1
        # (For a rule deprecated for removal the reason comes first; it stays in.)
        rule.description = _join_wrapped(body[prose_start:first_op])
        for line in body[first_op:tail]:
            op = _OPERATION_LINE.match(line)
            assert op is not None
            rule.operations.append({"method": op["method"], "path": op["path"]})
        rules.append(rule)
    return rules


def load_sample(path: str = SAMPLE_PATH) -> list[SampleRule]:
    with open(path, encoding="utf-8") as f:
        return parse_sample(f.read())
