"""``workbench demo up | status | down``: the simulated cluster on real servers."""

from __future__ import annotations

import json
import time

import click

from .params import BIG, DEFAULT, DemoParams

_DIR = click.option("--dir", "dir_", type=click.Path(file_okay=False), default=None,
                    help="State directory (default: $WORKBENCH_DEMO_DIR or ~/.cache/workbench/demo).")


@click.group()
def demo() -> None:
    """The demo cluster: simulated kube-prometheus-stack history in a real Prometheus."""


@demo.command()
@_DIR
@click.option("--nodes", type=int, default=None, help=f"Worker nodes [{DEFAULT.nodes}].")
@click.option("--namespaces", type=int, default=None,
              help=f"Application namespaces [{DEFAULT.namespaces}].")
@click.option("--pods", type=int, default=None, help=f"Pods alive at a time [{DEFAULT.pods}].")
@click.option("--days", type=float, default=None, help=f"Days of history [{DEFAULT.days:g}].")
@click.option("--interval", "interval_s", type=int, default=None,
              help=f"Scrape interval in seconds [{DEFAULT.interval_s}].")
@click.option("--seed", type=int, default=None, help=f"Simulation seed [{DEFAULT.seed}].")
@click.option("--big", is_flag=True, help="The big setting (50 nodes, 2,000 pods, 30 days).")
@click.option("--metrics-api", type=click.Choice(["ok", "missing", "unavailable", "forbidden"]),
              default="ok", show_default=True,
              help="Simulate metrics-server being healthy, not installed (404), down (503) or "
                   "forbidden (403).")
@click.option("--max-hole", "max_hole_h", type=float, default=6.0, show_default=True,
              help="Reuse the stored history if its data ends at most this many hours ago.")
@click.option("--rules", "rule_files", multiple=True, type=click.Path(exists=True),
              help="Your alerting rule file, directory, or PrometheusRule (repeatable): "
                   "evaluated over the history (ALERTS backfilled) and live.")
@click.option("--backend", type=click.Choice(["prometheus", "victoriametrics"]),
              default="prometheus", show_default=True,
              help="Where the history lives: Prometheus (promtool blocks) or VictoriaMetrics "
                   "(import API; regenerated on every up).")
def up(dir_: str | None, nodes: int | None, namespaces: int | None, pods: int | None,
       days: float | None, interval_s: int | None, seed: int | None, big: bool,
       metrics_api: str, max_hole_h: float, rule_files: tuple[str, ...], backend: str) -> None:
    """Start the stack (idempotent): generate/backfill the history if needed, then serve it live."""
    from .stack import up as _up

    base = BIG if big else DEFAULT
    changes = {k: v for k, v in {"nodes": nodes, "namespaces": namespaces, "pods": pods, "days": days,
                                     "interval_s": interval_s, "seed": seed}.items() if v is not None}
    params: DemoParams = base.with_options(**changes)
    t0 = time.perf_counter()
    if backend == "victoriametrics":
        from .vm_backend import up as _vm_up

        eps = _vm_up(dir_, params, metrics_api=metrics_api)
    else:
        eps = _up(dir_, params, max_hole_s=max_hole_h * 3600, metrics_api=metrics_api,
                  rules=rule_files)
    click.echo(f"demo up in {time.perf_counter() - t0:.1f}s")
    _print_endpoints(eps)


@demo.command()
@_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as JSON (for scripts).")
def status(dir_: str | None, as_json: bool) -> None:
    """Show what runs where (exit 1 when the stack is not running)."""
    from .stack import status as _status

    st = _status(dir_)
    if as_json:
        click.echo(json.dumps({**st["endpoints"], "state_dir": st["state_dir"],
                               "running": st["running"],
                               "processes": {k: {"pid": v["pid"], "alive": v["alive"]}
                                             for k, v in st["processes"].items()}}, indent=2))
    else:
        click.echo(f"demo state dir: {st['state_dir']}")
        click.echo(f"running: {'yes' if st['running'] else 'no'}")
        for name, p in st["processes"].items():
            click.echo(f"  {name:<14} pid {p['pid']:<8} {'alive' if p['alive'] else 'DEAD':<6} "
                       f"{p['url']}")
        h = st["history"]
        if h:
            p = h["params"]
            click.echo(f"history: {p['nodes']} nodes, ~{p['pods']} pods, {p['days']:g} days at "
                       f"{p['interval_s']}s, seed {p['seed']}")
        if st["running"]:
            _print_endpoints(st["endpoints"])
    raise SystemExit(0 if st["running"] else 1)


@demo.command()
@_DIR
def down(dir_: str | None) -> None:
    """Stop what `up` started (by pid); the generated history is kept for the next `up`."""
    from .stack import down as _down

    stopped = _down(dir_)
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def _print_endpoints(eps: dict[str, str]) -> None:
    for k in ("prometheus", "rules_prometheus", "alertmanager", "webhook_sink", "kubernetes_api",
              "kubeconfig", "ground_truth", "state_dir"):
        if k in eps:
            click.echo(f"  {k:<15} {eps[k]}")
    if "kubeconfig" in eps:
        click.echo(f"  use: Prometheus(\"demo\"), KUBECONFIG={eps['kubeconfig']}")
