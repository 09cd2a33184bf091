"""Run ``promtool check rules`` and ``promtool test rules`` on exported files.

Both raise :class:`~workbench.MissingBinaryError` (with the install command) when promtool is not
installed, and :class:`~workbench.PromtoolError` carrying promtool's own output when it rejects
the file.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..._errors import PromtoolError
from ..._runtime import find_binary

__all__ = ["check_rules", "check_rules_text", "test_rules"]


def _run(args: list[str], what: str, fix: str, timeout: float) -> str:
    argv = [find_binary("promtool"), *args]
    res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    output = (res.stdout + res.stderr).strip()
    if res.returncode != 0:
        msg = (f"promtool {what} failed (exit {res.returncode}): {output[-2000:]}\nFix: {fix}")
        raise PromtoolError(msg, command=argv, returncode=res.returncode, output=output)
    return output


def check_rules(path: str | Path, *, timeout: float = 120.0) -> str:
    """``promtool check rules PATH``; returns promtool's output (``SUCCESS: 1 rules found``)."""
    return _run(["check", "rules", str(path)], f"check rules {path}",
                "correct the rule (promtool's message gives the group, rule and field).", timeout)


def check_rules_text(text: str, *, timeout: float = 120.0) -> str:
    """Validate rule-file text with ``promtool check rules`` (through a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="workbench-rules-") as d:
        path = Path(d) / "rules.yml"
        path.write_text(text)
        return check_rules(path, timeout=timeout)


def test_rules(path: str | Path, *, timeout: float = 600.0) -> str:
    """``promtool test rules PATH`` (run from the file's directory, so relative ``rule_files``
    resolve); returns the output on success."""
    path = Path(path).resolve()
    argv = [find_binary("promtool"), "test", "rules", path.name]
    res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout,
                         cwd=path.parent)
    output = (res.stdout + res.stderr).strip()
    if res.returncode != 0:
        shown = output if len(output) <= 4000 else f"{output[:1500]}\n...\n{output[-2500:]}"
        msg = (f"promtool test rules {path} failed (exit {res.returncode}): {shown}\n"
               "Fix: the rule no longer behaves as pinned (exp = backtest, got = promtool); "
               "compare the listed eval times, or regenerate the test if the change is intended.")
        raise PromtoolError(msg, command=argv, returncode=res.returncode, output=output)
    return output


test_rules.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
