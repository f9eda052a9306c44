"""doctor's text report: a line a check; no command, path or process split."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from otelcap.ops.doctor_report import (
    _COMMAND,
    _GLUE,
    _PROCESS,
    _SEP,
    FAIL,
    SECTIONS,
    SYMBOL,
    WARN,
    WIDTH,
    Check,
    Report,
)


def render(report: Report, fmt: str = "text") -> str:
    if fmt == "json":
        return report.to_json()
    lines = [f"otelcap doctor: {report.backend} {report.database}", ""]
    for section, title in SECTIONS.items():
        checks = [c for c in report.checks if c.section == section]
        if not checks:
            continue
        lines.append(title)
        for c in checks:
            first, *rest = c.message.split("\n")
            keep = _paths(report, c)
            lines.extend(_wrap(first, f"  {SYMBOL[c.status]} ", "    ", keep))
            for line in rest:  # a list of names: break between items, not inside one
                lines.extend(_pack(line.split(_SEP), "      "))
            if c.fix:
                lines.extend(_wrap(c.fix, "    → ", "      ", keep))
        lines.append("")
    fails = sum(c.status == FAIL for c in report.checks)
    warns = sum(c.status == WARN for c in report.checks)
    warn_text = f"{warns} warning{'s' if warns != 1 else ''}"
    if fails:
        lines.append(f"{fails} check{'s' if fails != 1 else ''} failed, {warn_text}.")
    else:
        lines.append(f"No problems; {warn_text}.")
    return "\n".join(lines)


def _wrap(text: str, first: str, rest: str, keep: tuple[str, ...] = ()) -> list[str]:
    """Lines of at most WIDTH columns that never split what a user copies or reads as one:
    a `command`, a path (also one in `keep` that holds spaces, like macOS's "Application
    Support"), a process ("pid 123 (its command line)"). One of those longer than the line
    gets a line of its own, however long; a venv path alone can pass 100 columns."""
    glued = text
    for start, end in _unbreakable(text, keep):
        glued = glued[:start] + glued[start:end].replace(" ", _GLUE) + glued[end:]
    wrapped = textwrap.wrap(
        glued, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
        break_long_words=False,
    )  # fmt: skip
    return [line.replace(_GLUE, " ") for line in wrapped] or [first.rstrip()]


def _unbreakable(text: str, keep: tuple[str, ...]) -> list[tuple[int, int]]:
    spans = [m.span() for m in _COMMAND.finditer(text)]
    for m in _PROCESS.finditer(text):  # to its closing parenthesis: argv may hold some
        depth, end = 0, len(text)
        for i in range(m.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                end = i + 1
                break
        spans.append((m.start(), end))
    for path in keep:
        spans += [m.span() for m in re.finditer(re.escape(path), text)]
    return spans


def _paths(report: Report, check: Check) -> tuple[str, ...]:
    """The paths a check may print that hold a space, with their parents (the nearest
    existing directory is printed too): textwrap would break inside them."""
    found = {report.database, report.data_dir, str(check.data.get("path", ""))}
    out: set[str] = set()
    for p in found:
        out.update(q for q in (p, *map(str, Path(p).parents)) if " " in q)
    return tuple(out)


def _pack(items: list[str], indent: str) -> list[str]:
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(indent + line + _SEP + item) > WIDTH:
            lines.append(indent + line)
            line = item
        else:
            line = f"{line}{_SEP}{item}" if line else item
    return [*lines, indent + line]
