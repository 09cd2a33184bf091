"""Readable promtool tests: series notation with ``a+bxN`` runs, checked by ``promtool test rules``
reading every sample back (``promql_expr_test`` at each step)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from workbench import PromtoolError
from workbench.analysis.alerting.export import promtool_test_document, series_values
from workbench.analysis.alerting.promtool import test_rules as run_promtool_test

from .conftest import require_binary


def _accumulate(a: float, b: float, n: int) -> list[float]:
    out, v = [], a
    for _ in range(n):
        out.append(v)
        v += b
    return out


SERIES = {
    "constant": [1.0] * 31,
    "counter": _accumulate(0.0, 15.0, 40),
    "tenths": _accumulate(0.1, 0.1, 25),             # 0.30000000000000004 and friends
    "falling": [*_accumulate(5.0, -0.25, 12), 7.0, 7.0],
    "mixed": [0.5, 0.7, 0.9, 0.3, 1e20, 1e20, 1e20, -0.0, 3.0],
    "not_linear": [0.1, 0.3, 0.6, 1.0, 1.5],
}


def test_runs_become_progressions() -> None:
    enc = {k: series_values(np.array(v), np.ones(len(v), bool)) for k, v in SERIES.items()}
    assert enc["constant"] == "1+0x30"
    assert enc["counter"] == "0+15x39"
    assert enc["falling"] == "5-0.25x11 7 7"
    assert enc["not_linear"] == "0.1 0.3 0.6 1 1.5"
    assert "1e+20+0x2" in enc["mixed"]


def test_promtool_reads_back_every_sample(tmp_path: Path) -> None:
    require_binary("promtool")
    (tmp_path / "rules.yml").write_text("groups: []\n")
    inputs, checks = [], []
    for name, values in SERIES.items():
        v = np.array(values)
        inputs.append((f'wb_series{{name="{name}"}}', series_values(v, np.ones(len(v), bool))))
        for k, x in enumerate(values):
            checks.append((k * 60_000, f'wb_series{{name="{name}"}}',
                           [(f'wb_series{{name="{name}"}}', float(x))]))
    text = promtool_test_document(rule_files=["rules.yml"], interval_ms=60_000,
                                  input_series=inputs, alert_checks=[], promql_checks=checks)
    assert yaml.safe_load(text)["tests"][0]["input_series"][0] == {
        "series": 'wb_series{name="constant"}', "values": "1+0x30"}
    assert "{" not in text.split("input_series:")[0]          # block style, no flow mappings
    path = tmp_path / "t.test.yml"
    path.write_text(text)
    run_promtool_test(path)
    # a wrong value must fail: promtool really compared the samples
    bad = text.replace("value: 555.0", "value: 556.0")
    assert bad != text
    path.write_text(bad)
    with pytest.raises(PromtoolError, match="37m"):               # 555 = 15 x 37
        run_promtool_test(path)
