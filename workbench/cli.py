"""The ``workbench`` command line: a thin layer over library calls.

Sub-commands live next to what they drive and load lazily, so ``workbench --help`` is quick:

* ``workbench query``  (this module) instant/range queries printed as a table or CSV
* ``workbench demo``   (:mod:`workbench.demo.cli`) the simulated cluster on real servers
* ``workbench report`` (:mod:`workbench.reports.cli`) scheduled notebook reports
"""

from __future__ import annotations

import importlib
import sys

import click

from ._errors import WorkbenchError

_LAZY = {
    "demo": "workbench.demo.cli:demo",
    "report": "workbench.reports.cli:report",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _LAZY:
            module, attr = _LAZY[name].split(":")
            try:
                return getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith("workbench"):
                    return _not_yet(name)
                raise
        return super().get_command(ctx, name)


def _not_yet(name: str) -> click.Command:
    @click.command(name, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1)
    def cmd(args: tuple[str, ...]) -> None:
        click.echo(f"workbench {name}: not yet available in this version.", err=True)
        sys.exit(2)

    return cmd


@click.group(cls=_LazyGroup)
@click.version_option(package_name="observability-workbench")
def cli() -> None:
    """Study a Kubernetes cluster's Prometheus data: queries, demo stack, reports."""


@cli.command()
@click.argument("expr")
@click.option("--prometheus", "-P", default="env", show_default=True,
              help="URL, profile name, or 'env' (WORKBENCH_PROMETHEUS_URL).")
@click.option("--start", help="Range start (e.g. now-1h); omit for an instant query.")
@click.option("--end", default="now", show_default=True)
@click.option("--step", default=None, help="Range step, e.g. 30s (default: automatic).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
def query(expr: str, prometheus: str, start: str | None, end: str, step: str | None,
          as_csv: bool) -> None:
    """Run a PromQL query and print the frame."""
    from .sources.prometheus.client import Prometheus

    prom = Prometheus(prometheus)
    frame = prom.query(expr) if start is None else prom.query_range(expr, start, end, step)
    if as_csv:
        click.echo(frame.write_csv(), nl=False)
    else:
        import shutil

        from .charts.console import console_text

        # one line per series; cut to the terminal's width only when a person reads it
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        click.echo(console_text(frame, width=width))


def main() -> None:
    """Console-script entry point: WorkbenchError becomes a one-line message and exit 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except WorkbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", 1))


if __name__ == "__main__":
    main()
