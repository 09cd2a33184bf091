"""`workbench report run-all --profile a --profile b --jobs 2`: one run per cluster profile, in
parallel processes, one index with a section per cluster. The two clusters are real servers of
two engines (Prometheus and VictoriaMetrics) holding tests/promdata.py."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.testing.servers import ManagedProcess

from . import promdata as pd_

PARAMS = ('prometheus: str = "demo"  # Prometheus profile of the cluster\n'
          'interactive: bool = True  # static output when False')
BODY = f'''from workbench import Prometheus
from workbench.reports.notebook import record
from workbench.sources.prometheus import fetch_engine
prom = Prometheus(prometheus)
n = prom.query("count(wb_many)", time={pd_.BASE_S + 1500})["value"][0]
record(series=int(n), engine=fetch_engine(prom).name, profile=prometheus)'''


@pytest.fixture()
def setup(tmp_path: Path, prom_server: ManagedProcess, vm_server: ManagedProcess
          ) -> dict[str, Path]:
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [new_markdown_cell("# Cluster size\n\nSeries per cluster."),
                new_code_cell(PARAMS, metadata={"tags": ["parameters"]}), new_code_cell(BODY)]
    nbformat.write(nb, nbdir / "size.ipynb")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[profiles.eu-prom]\nurl = "{prom_server.url}"\n'
                   f'[profiles.us-vm]\nurl = "{vm_server.url}"\n'
                   '[profiles.gone]\nurl = "http://127.0.0.1:1"\n')
    return {"nbdir": nbdir, "cfg": cfg, "out": tmp_path / "reports"}


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["WORKBENCH_CONFIG"] = str(cfg)
    return subprocess.run([sys.executable, "-m", "workbench", "report", "run-all", *args],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.server
def test_run_all_per_cluster_in_parallel_with_one_index(setup: dict[str, Path]) -> None:
    out = setup["out"]
    res = _cli(setup["cfg"], "--notebooks", str(setup["nbdir"]), "--out", str(out),
               "--profile", "eu-prom", "--profile", "us-vm", "--jobs", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[eu-prom] size: ok" in res.stdout and "[us-vm] size: ok" in res.stdout
    records = {}
    for cluster in ("eu-prom", "us-vm"):
        (rec,) = [json.loads(p.read_text()) for p in out.glob(f"{cluster}/size/*/*.json")]
        records[cluster] = rec
        assert rec["parameters"]["prometheus"] == cluster
        assert (out / cluster / "size" / "latest.html").is_file()
        assert (out / cluster / "index.html").is_file()
    assert records["eu-prom"]["figures"] == {"series": pd_.MANY_SERIES, "engine": "prometheus",
                                             "profile": "eu-prom"}
    assert records["us-vm"]["figures"] == {"series": pd_.MANY_SERIES,
                                           "engine": "victoriametrics", "profile": "us-vm"}
    # Two processes: the runs overlap in time.
    spans = [(datetime.fromisoformat(r["started"]).timestamp(),
              datetime.fromisoformat(r["started"]).timestamp() + r["duration_s"])
             for r in records.values()]
    assert max(s for s, _ in spans) < min(e for _, e in spans)
    page = (out / "index.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert page.index('id="cluster-eu-prom"') < page.index('id="cluster-us-vm"')
    assert re.search(r"eu-prom\s*:\s*all ok", text) and re.search(r"us-vm\s*:\s*all ok", text)
    assert 'href="eu-prom/size/latest.html"' in page and 'href="us-vm/size/latest.html"' in page
    assert "engine: victoriametrics" in text and "engine: prometheus" in text


@pytest.mark.server
def test_an_unreachable_cluster_stops_before_anything_runs(setup: dict[str, Path]) -> None:
    res = _cli(setup["cfg"], "--notebooks", str(setup["nbdir"]), "--out", str(setup["out"]),
               "--profile", "eu-prom", "--profile", "gone")
    assert res.returncode == 1
    assert "Cluster profile 'gone' is not available" in res.stderr
    assert "127.0.0.1:1" in res.stderr
    assert not setup["out"].exists()
    bad = _cli(setup["cfg"], "--notebooks", str(setup["nbdir"]), "--profile", "../x")
    assert bad.returncode == 2 and "cannot name a folder" in bad.stderr


def test_cronjob_manifest_has_one_job_per_cluster(tmp_path: Path) -> None:
    import yaml

    from workbench import PromConfig
    from workbench.reports.cli import run_all_cmd

    manifest = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes" / "cronjob.yaml"
    docs = list(yaml.safe_load_all(manifest.read_text()))
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.toml"]
    (tmp_path / "config.toml").write_text(config)
    jobs = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "CronJob"}
    clusters = {}
    for name, spec in jobs.items():
        (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        if args[:2] != ["report", "run-all"]:
            continue
        ctx = run_all_cmd.make_context("run-all", list(args[2:]))
        (profile,) = ctx.params["profiles"]
        assert name == f"workbench-reports-{profile}"
        assert str(ctx.params["out"]) == "/reports/clusters"
        assert spec["concurrencyPolicy"] == "Forbid"
        clusters[profile] = (spec["schedule"], PromConfig.from_profile(profile,
                                                                       tmp_path / "config.toml"))
    assert sorted(clusters) == ["prod-eu", "prod-us"]
    assert len({s for s, _ in clusters.values()}) == 2  # staggered on the ReadWriteOnce claim
    assert clusters["prod-eu"][1].url.endswith("/select/1/prometheus")
    assert clusters["prod-us"][1].query_params == {"dedup": "true", "partial_response": "false"}


def test_index_keeps_clusters_run_by_separate_jobs(tmp_path: Path) -> None:
    from workbench.reports._clusters import write_clusters_index

    write_clusters_index(tmp_path, ["prod-eu"])
    page = write_clusters_index(tmp_path, ["prod-us"]).read_text()
    assert page.index('id="cluster-prod-eu"') < page.index('id="cluster-prod-us"')
    assert json.loads((tmp_path / "clusters.json").read_text()) == ["prod-eu", "prod-us"]
