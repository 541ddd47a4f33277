"""Run one rule over a small project written to disk and apply one of its fixes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otp_thinking.config import DEFAULT, Config
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding, apply_edits
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source

APPLICATION = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    children = [
{children}
    ]

    Supervisor.start_link(children, strategy: :one_for_one)
  end
end
"""


MIX_EXS = """\
defmodule Shop.MixProject do
  use Mix.Project

  def project, do: [app: :shop, version: "0.1.0", elixir: "~> 1.15", deps: []]
end
"""


@dataclass
class Fixed:
    text: str
    application: str | None
    finding: Finding


def project(tmp_path: Path, children: str | None = "      Shop.Repo") -> Path:
    """A mix project ``shop`` with an application starting ``children`` (None: no app)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "mix.exs").write_text(MIX_EXS, "utf-8")
    (tmp_path / "lib" / "shop").mkdir(parents=True)
    if children is not None:
        app = tmp_path / "lib" / "shop" / "application.ex"
        app.write_text(APPLICATION.format(children=children), "utf-8")
    return tmp_path


def findings(root: Path, code: str, text: str, config: Config = DEFAULT) -> list[Finding]:
    path = root / "lib" / "shop" / "subject.ex"
    path.write_text(text, "utf-8")
    rule = find_rule(code)
    assert rule is not None
    return analyze(Source(text, str(path)), config=config, project=scan(root), rules=[rule])


def fix(root: Path, code: str, text: str, index: int = 0, config: Config = DEFAULT) -> Fixed:
    """The text after applying the fix of the ``index``-th finding (and the app file)."""
    found = findings(root, code, text, config)
    finding = found[index]
    assert finding.fix is not None, f"no fix for {finding}"
    app_path = root / "lib" / "shop" / "application.ex"
    app_text = app_path.read_text("utf-8") if app_path.exists() else None
    app_edits = [e for e in finding.fix.edits if e.path is not None]
    if app_edits:
        assert app_text is not None and all(Path(e.path) == app_path for e in app_edits)
        app_text = apply_edits(app_text, app_edits)
    return Fixed(apply_edits(text, finding.fix.edits_for(None)), app_text, finding)


def module(body: str) -> str:
    """``body`` (indented two spaces) inside ``defmodule Shop.Subject``."""
    indented = "".join(f"  {line}\n" if line else "\n" for line in body.splitlines())
    return f"defmodule Shop.Subject do\n{indented}end\n"
