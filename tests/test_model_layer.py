"""The model lies under the rule API: importing any part of it loads neither
``otp_thinking.context`` nor ``otp_thinking.rule`` (directly or through what it imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import otp_thinking.model

MODEL = Path(otp_thinking.model.__file__).parent


def test_model_never_loads_the_rule_api() -> None:
    names = sorted(
        f"otp_thinking.model.{p.stem}" for p in MODEL.glob("*.py") if p.stem != "__init__"
    )
    assert "otp_thinking.model.modules" in names
    probe = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m in ('otp_thinking.context', 'otp_thinking.rule')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
