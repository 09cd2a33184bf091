"""deploy/: the crontab line and the Kubernetes CronJob call the CLI with arguments it accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from workbench import PromConfig
from workbench.reports import get_report, parse_cli_params, validate_parameters
from workbench.reports.cli import run_cmd

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _check_run_args(args: list[str]) -> dict[str, object]:
    """Parse `report run ...` with the real click command and validate its parameters."""
    assert args[:2] == ["report", "run"]
    ctx = run_cmd.make_context("run", list(args[2:]))
    spec = get_report(ctx.params["name"])
    values = validate_parameters(spec, parse_cli_params(spec, ctx.params["params"]))
    assert values["interactive"] is False
    return {**ctx.params, "values": values}


def test_cronjob_manifest(tmp_path: Path) -> None:
    docs: dict[str, dict] = {}  # the first of each kind: the in-cluster node-exporter CronJob
    for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text()):
        docs.setdefault(d["kind"], d)
    assert set(docs) == {"ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "CronJob"}
    cron = docs["CronJob"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    job = cron["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert job["backoffLimit"] == 0
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    (container,) = pod["containers"]
    parsed = _check_run_args(container["args"])
    assert job["activeDeadlineSeconds"] > parsed["timeout"]  # type: ignore[operator]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert str(parsed["out"]) == mounts["reports"]
    claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName")
              for v in pod["volumes"]}
    assert claims["reports"] == docs["PersistentVolumeClaim"]["metadata"]["name"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["WORKBENCH_CONFIG"] == mounts["config"] + "/config.toml"
    # the profile the job names resolves to the in-cluster Prometheus service
    cfg = tmp_path / "config.toml"
    cfg.write_text(docs["ConfigMap"]["data"]["config.toml"])
    profile = str(parsed["values"]["prometheus"])  # type: ignore[index]
    resolved = PromConfig.from_profile(profile, cfg)
    assert resolved.url == "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    assert resolved.token is None
    text = (DEPLOY / "kubernetes" / "cronjob.yaml").read_text()
    assert not re.search(r"^\s*(token|password)\s*[=:]", text, re.MULTILINE)  # no literal secret


def test_crontab_line() -> None:
    lines = [ln for ln in (DEPLOY / "crontab").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    env = dict(ln.split("=", 1) for ln in lines if "=" in ln.split()[0])
    assert env["CRON_TZ"] == "UTC"
    (entry,) = [ln for ln in lines if ln[0].isdigit()]
    words = shlex.split(entry)
    assert len(words[:5]) == 5 and words[0].isdigit()
    assert "flock" in words and "timeout" in words
    start = words.index(".venv/bin/workbench") + 1
    end = words.index(">>")
    parsed = _check_run_args(words[start:end])
    assert parsed["name"] == "node_exporter"
