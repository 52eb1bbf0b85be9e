"""The README's quick start is what CI runs, and its demo never writes the tracked sample."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Démarrage rapide", 1)[1].split("\n## ", 1)[0]
    return section.split("```")[1].strip().splitlines()


def test_ci_runs_the_readmes_test_command():
    demo, tests = quick_start()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == tests
    assert tests.startswith("python3 -m venv .venv && ")  # a fresh machine has no .venv yet
    assert "scripts/demo.py" in demo and "sample_workbooks" not in demo


def test_demo_folder_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/demo/" in ignored and ".venv/" in ignored
