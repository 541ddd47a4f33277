"""A rule's documentation as people read it: the whole document (`explain`, a file an editor can
open from a diagnostic) and the short form a hover shows (what, why, the example)."""

from __future__ import annotations

import os
import re
import tempfile
from functools import cache
from pathlib import Path

from otp_thinking import __version__
from otp_thinking.registry import find_rule
from otp_thinking.rule import Rule

PREVIEW_NOTE = (
    "A preview rule: off unless `[rules] preview = true`, or its code or name is set in "
    "[rules] or given to --select."
)


def full_document(rule: Rule) -> str:
    """What `otp-thinking explain` prints."""
    lines = [f"# {rule.code} {rule.name}", ""]
    lines.append(f"Default severity: {rule.severity}." + (" Has a fix." if rule.fixable else ""))
    if rule.preview:
        lines.append(PREVIEW_NOTE)
    return "\n".join([*lines, "", rule.doc.rstrip(), ""])


def section(doc: str, heading: str) -> str:
    """The text under ``## heading`` (empty when the doc has no such section)."""
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    return found.group(1).strip() if found else ""


def _first_paragraph(text: str) -> str:
    return text.split("\n\n", 1)[0].strip()


EXAMPLE_LINES = 24  # a longer example shows only the code flagged


def _example(doc: str) -> str:
    """The Example section up to the end of its second code block (the code flagged, then the
    code to write instead, with the sentence between them), or only the first when that is long."""
    example = section(doc, "Example")
    fences = [m.end() for m in re.finditer(r"^```[ \t]*$", example, re.MULTILINE)]
    if len(fences) >= 2 and example[: fences[1]].count("\n") < EXAMPLE_LINES:
        return example[: fences[1]].strip()
    return example[: fences[0]].strip() if fences else example


def short_document(rule: Rule, link: str | None = None) -> str:
    """A hover: the rule and what it flags (its summary), why (the first paragraph), its
    example, and where the whole document is (``link``, a file URI, when there is one)."""
    parts = [f"**{rule.code} {rule.name}** ({rule.severity}): {rule.summary}"]
    why = _first_paragraph(section(rule.doc, "Why it matters"))
    if why:
        parts.append(why)
    example = _example(rule.doc)
    if example:
        parts.append(example)
    where = f"`otp-thinking explain {rule.code}`"
    parts.append(
        f"[The whole document]({link}) (or {where})" if link else f"The whole document: {where}"
    )
    return "\n\n".join(parts)


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "otp-thinking" / __version__ / "rules"


@cache
def document_uri(code: str) -> str | None:
    """A `file:` URI of the rule's whole document, written once per version into the user's
    cache folder so that an editor can open it from a diagnostic; None when it cannot be
    written (then no diagnostic names an address)."""
    rule = find_rule(code)
    if rule is None:
        return None
    try:
        folder = _cache_folder()
        path = folder / f"{rule.code}-{rule.name}.md"
        text = full_document(rule)
        if not path.is_file() or path.read_text("utf-8") != text:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, path)
        return path.as_uri()
    except (OSError, RuntimeError):  # RuntimeError: no home folder to find
        return None
