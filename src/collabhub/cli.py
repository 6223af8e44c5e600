"""The ``collabhub`` command line (typer). Plugins add commands through ``register_commands``.

Exit codes: 0 ok; 1 a run failed or a check did not pass; 2 configuration or plugin error
(one located line, no traceback); 3 the store cannot be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from collabhub import __version__
from collabhub.errors import CollabhubError, ConfigError, PluginError, StoreError

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.engine import Engine, RunSummary
    from collabhub.plugins import PluginHost
    from collabhub.store import Store

app = typer.Typer(name="collabhub", help="Make Jira, Microsoft 365, Feishu and DingTalk work as one.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
identity_app = typer.Typer(help="People matched across systems.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(identity_app, name="identity")

console = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file (default: $COLLABHUB_CONFIG "
                                                "or ./collabhub.yaml)", show_default=False)]


# -- shared plumbing -----------------------------------------------------------------------------


def _host() -> PluginHost:
    from collabhub.plugins import get_host

    return get_host()


def load(config_path: Path | None) -> HubConfig:
    """The config, with its sharing rules compiled (so a bad filter stops every command early)."""
    from collabhub.config import load_config

    config = load_config(config_path, host=_host())
    _compile_rules(config)
    return config


def _compile_rules(config: HubConfig) -> None:
    if not getattr(config, "sharing", None):
        return
    try:
        from collabhub.rules import RuleSet
    except ImportError:
        return
    RuleSet.from_config(config)


def open_store(config: HubConfig, *, upgrade: bool = True) -> Store:
    from collabhub.store import Store

    try:
        store = Store(config.store.url)
        if upgrade:
            store.upgrade()
    except CollabhubError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot open the store {_redact(config.store.url)}: {exc}",
                         hint="check store.url / COLLABHUB_DATABASE_URL and that the database is reachable") from exc
    return store


def _redact(url: str) -> str:
    """A database URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<store url>"


def _setup_logging(verbose: bool) -> None:
    level = os.environ.get("COLLABHUB_LOG_LEVEL", "DEBUG" if verbose else "WARNING").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log debug output")] = False) -> None:
    _setup_logging(verbose)


# -- commands ------------------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the collabhub version."""
    console.print(f"collabhub {__version__}")


@app.command()
def validate(config: ConfigOpt = None) -> None:
    """Check a config file; print every located error and exit 2 when there is one."""
    from collabhub.config import resolve_config_path, validate_file

    path = resolve_config_path(config)
    problems = validate_file(path, host=_host())
    if not problems:
        try:
            load(path)
        except ConfigError as exc:
            problems = list(getattr(exc, "errors", None) or [exc.one_line()])
    if problems:
        for line in problems:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    console.print(f"{path}: ok")


@app.command()
def sync(
    config: ConfigOpt = None,
    connector: Annotated[list[str] | None, typer.Option("--connector", help="only this connector (repeatable)")] = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help="pull only; plan and push nothing")] = False,
) -> None:
    """Run one sync cycle: pull every (or the named) connector, then rules and push."""
    cfg = load(config)
    store = open_store(cfg)
    summaries = asyncio.run(_sync(cfg, store, connector, rules=not no_rules))
    print_runs(summaries)
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


async def _sync(cfg: HubConfig, store: Store, names: list[str] | None, *, rules: bool) -> list[RunSummary]:
    from rich.live import Live

    from collabhub.engine import Engine

    progress: dict[tuple[str, str], Any] = {}

    def render() -> Table:
        table = Table(title="sync", show_edge=False)
        for col in ("connector", "stream", "pages", "created", "updated", "unchanged", "deleted", "quarantined"):
            table.add_column(col, justify="left" if col in ("connector", "stream") else "right")
        for (c, s), st in progress.items():
            table.add_row(c, s, *(str(getattr(st, k)) for k in ("pages", "created", "updated", "unchanged",
                                                                   "deleted", "quarantined")))
        return table

    with Live(render(), console=err, transient=True, refresh_per_second=4,
              redirect_stdout=False, redirect_stderr=False) as live:
        def on_page(connector: str, stream: str, stats: Any) -> None:
            progress[(connector, stream)] = stats
            live.update(render())

        engine = Engine(cfg, store, _host(), on_page=on_page)
        _install_stop(engine)
        try:
            return await engine.sync(names, rules=rules)
        finally:
            await engine.aclose()


def _install_stop(engine: Engine) -> None:
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, engine.stop.set)


def print_runs(summaries: list[RunSummary]) -> None:
    table = Table(title="runs")
    for col in ("connector", "status", "created", "updated", "unchanged", "deleted", "quarantined", "api calls",
                "seconds"):
        table.add_column(col, justify="left" if col in ("connector", "status") else "right")
    for s in summaries:
        table.add_row(s.connector, s.status, *(str(s.total(k)) for k in ("created", "updated", "unchanged",
                                                                         "deleted", "quarantined")),
                      str(s.api_calls), f"{s.seconds:.1f}")
    console.print(table)
    for s in summaries:
        for e in s.errors:
            err.print(f"[yellow]{s.connector}[/]: {e}", soft_wrap=True)


@app.command()
def daemon(
    config: ConfigOpt = None,
    no_webhooks: Annotated[bool, typer.Option("--no-webhooks", help="do not serve webhook receivers")] = False,
) -> None:
    """Run every enabled connector on its schedule until SIGTERM (pages in hand are committed)."""
    from collabhub.engine import Engine
    from collabhub.scheduler import Daemon

    cfg = load(config)
    store = open_store(cfg)

    def on_run(summary: RunSummary) -> None:
        err.print(f"{summary.connector}: {summary.status} (+{summary.total('created')} "
                  f"~{summary.total('updated')} -{summary.total('deleted')}, {summary.seconds:.1f}s)")

    async def main() -> None:
        engine = Engine(cfg, store, _host())
        runner = Daemon(engine, serve_webhooks=not no_webhooks, on_run=on_run)
        runner.install_signal_handlers()
        await runner.run()

    asyncio.run(main())


@app.command()
def check(
    config: ConfigOpt = None,
    connector: Annotated[list[str] | None, typer.Option("--connector", help="only this connector")] = None,
) -> None:
    """Test each connector's credentials and permissions against the remote system."""
    from collabhub.engine import Engine

    cfg = load(config)

    async def run() -> bool:
        engine = Engine(cfg, open_store(cfg, upgrade=False), _host())
        ok = True
        try:
            for name in engine.enabled(connector):
                try:
                    result = await engine.connector(name).check()
                except CollabhubError as exc:
                    ok = False
                    console.print(f"[red]✗[/] {name}: {exc}")
                    continue
                ok = ok and result.ok
                console.print(f"{'[green]✓[/]' if result.ok else '[red]✗[/]'} {name}")
                for line in result.details:
                    console.print(f"    {line}", markup=False)
        finally:
            await engine.aclose()
        return ok

    if not asyncio.run(run()):
        raise typer.Exit(1)


@app.command()
def status(config: ConfigOpt = None) -> None:
    """Connectors, last runs, cursors, pending and parked deliveries, quarantined records."""
    cfg = load(config)
    store = open_store(cfg)
    runs = Table(title="connectors and last runs")
    for col in ("connector", "type", "schedule", "last run", "status", "errors"):
        runs.add_column(col)
    for name, entry in cfg.connectors.items():
        last = store.recent_runs(connector=name, limit=1)
        r = last[0] if last else None
        runs.add_row(name + ("" if entry.enabled else " (disabled)"), entry.type, str(entry.schedule or "default"),
                     f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r else "never", r.status if r else "-",
                     "; ".join(r.errors)[:80] if r and r.errors else "")
    console.print(runs)
    cursors = Table(title="cursors")
    for col in ("connector", "stream", "cursor", "updated"):
        cursors.add_column(col)
    for c in store.list_cursors():
        cursors.add_row(c.connector, c.stream, json.dumps(c.value, ensure_ascii=False, default=str)[:70],
                        f"{c.updated_at:%Y-%m-%d %H:%M:%S}")
    console.print(cursors)
    counts = store.outbox_counts()
    console.print(f"outbox: {counts.get('pending', 0)} pending, {counts.get('sending', 0)} sending, "
                  f"{counts.get('parked', 0)} parked, {counts.get('done', 0)} done")
    for row in store.outbox_rows(status="parked", limit=10):
        console.print(f"  parked #{row.id} {row.channel} -> {row.target_connector}: {row.last_error}", markup=False)
    console.print(f"quarantined records: {store.count_quarantined()}")
    for q in store.quarantined(limit=10):
        console.print(f"  {q.connector}/{q.stream} {q.external_id or '?'}: {q.reason}", markup=False)


@app.command()
def plugins() -> None:
    """List loaded plugins, their hooks and the connector types they provide."""
    table = Table(title="plugins")
    for col in ("name", "version", "connectors", "hooks"):
        table.add_column(col)
    for info in _host().plugins():
        table.add_row(info.name, info.version or "", ", ".join(info.connectors), ", ".join(info.hooks))
    console.print(table)


@app.command()
def export(
    kind: Annotated[str, typer.Option("--kind", help="task|meeting|booking|resource|person|department|project")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file (default: stdout)")] = None,
    include_deleted: Annotated[bool, typer.Option("--include-deleted")] = False,
    config: ConfigOpt = None,
) -> None:
    """Export unified entities as JSON lines or CSV, streamed (never all in memory)."""
    from collabhub.model import EntityKind

    try:
        kind_enum = EntityKind(kind)
    except ValueError:
        raise ConfigError(f"--kind {kind!r} is not a kind", hint=f"use one of {', '.join(k.value for k in EntityKind)}"
                          ) from None
    if fmt not in ("jsonl", "csv"):
        raise ConfigError(f"--format {fmt!r} is not supported", hint="use jsonl or csv")
    cfg = load(config)
    store = open_store(cfg)
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        rows = store.iter_entities(kind=kind_enum, include_deleted=include_deleted)
        if fmt == "jsonl":
            for row in rows:
                out.write(json.dumps({"id": row.id, "version": row.version, **row.data}, ensure_ascii=False) + "\n")
        else:
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                flat = _flatten({"id": row.id, "version": row.version, **row.data})
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(flat), extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(flat)
    finally:
        if output:
            out.close()


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat


@app.command()
def requeue(
    config: ConfigOpt = None,
    outbox_id: Annotated[int | None, typer.Option("--id", help="one parked delivery; all when omitted")] = None,
) -> None:
    """Put parked deliveries back in the queue (after fixing what made them fail)."""
    cfg = load(config)
    store = open_store(cfg)
    count = store.requeue_parked(outbox_id)
    console.print(f"{count} parked delivery(ies) requeued; the next `collabhub sync` or daemon tick pushes them")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Apply pending migrations to the store."""
    cfg = load(config)
    open_store(cfg)
    console.print(f"store {_redact(cfg.store.url)} is up to date")


@identity_app.command("review")
def identity_review(config: ConfigOpt = None,
                    all_items: Annotated[bool, typer.Option("--all", help="include resolved items")] = False) -> None:
    """List person references that matched nobody or more than one person (never guessed)."""
    cfg = load(config)
    store = open_store(cfg)
    items = store.review_items(include_resolved=all_items)
    if not items:
        console.print("nothing to review: every person reference matched exactly one person")
        return
    table = Table(title=f"identity review ({len(items)})")
    for col in ("connector", "external id", "reason", "name", "email", "candidates", "last seen"):
        table.add_column(col)
    for item in items:
        ref = item.ref or {}
        cands = ", ".join(_person_label(store, pid) for pid in item.candidates)
        table.add_row(item.connector, item.external_id, item.reason, str(ref.get("display_name") or ""),
                      str(ref.get("email") or ""), cands, f"{item.last_seen:%Y-%m-%d %H:%M}")
    console.print(table)
    console.print("Fix: add the person under `people:` with `ids: {<connector>: <external id>}` in the config.")


def _person_label(store: Store, pid: int) -> str:
    person = store.get_person(pid)
    return f"#{pid} {person.name} <{person.email or '-'}>" if person else f"#{pid}"


@app.command()
def demo(
    config: Annotated[Path, typer.Option("--config", "-c", help="the demo config")] = Path("config/demo.yaml"),
    keep_running: Annotated[bool, typer.Option("--keep-running", help="leave the daemon and simulators up")] = False,
) -> None:
    """Start every simulator with the sample company, run one full cycle, print a summary."""
    from collabhub.demo import run_demo

    run_demo(config, _host(), keep_running=keep_running, console=console)


def _mount_optional() -> None:
    """Commands of optional core parts (rules, demo), mounted when present."""
    try:
        from collabhub.rules.cli import audit, rules_app
    except ImportError:
        return
    app.add_typer(rules_app, name="rules")
    app.command("audit")(audit)


_mount_optional()


def main() -> None:
    """Entry point: runs the app, turning collabhub errors into one line and an exit code."""
    try:
        try:
            _host().register_commands(app)
        except PluginError as exc:
            err.print(f"error: {exc}", markup=False)
            sys.exit(2)
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ConfigError as exc:
        err.print(exc.one_line(), markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except PluginError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except StoreError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(3)
    except CollabhubError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except _click_errors() as exc:  # usage errors: show them the click way
        exc.show()
        sys.exit(exc.exit_code)


def _click_errors() -> type[Exception]:
    import click

    return click.ClickException


if __name__ == "__main__":
    main()
