"""Command line of the rules: ``collabhub rules preview|check`` and ``collabhub audit``.

``collabhub.cli`` mounts :data:`rules_app` as ``rules`` and :func:`audit` as ``audit``. The
work is done by plain functions that take a loaded config and store (``check_rows``,
``audit_records``, ``preview``), so tests call them without the CLI.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from collabhub.errors import ConfigError
from collabhub.rules.ruleset import RuleSet

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.store import Store

__all__ = ["audit", "audit_records", "check_rows", "format_audit", "parse_since", "rules_app"]

rules_app = typer.Typer(help="Information-sharing rules: check them, preview what they would send.",
                        no_args_is_help=True)
console = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file (default: $COLLABHUB_CONFIG "
                                                "or ./collabhub.yaml)", show_default=False)]


def _load(config_path: Path | None) -> tuple[HubConfig, Store]:
    from collabhub.cli import load, open_store

    cfg = load(config_path)
    return cfg, open_store(cfg)


# -- check -----------------------------------------------------------------------------------


def check_rows(config: HubConfig) -> list[dict[str, str]]:
    """One row per compiled rule (raises a located ``ConfigError`` when a rule is invalid)."""
    rows = []
    for rule in RuleSet.from_config(config).rules:
        spec = rule.spec
        deliver = ", ".join(f"{d.channel}@{d.connector or 'chats'}" for d in spec.deliver)
        guard = f"lifted: {spec.allow_confidential.reason}" if spec.allow_confidential else "on"
        duties = []
        if spec.freshness:
            duties.append(f"fresh {spec.freshness.max_age_days:g}d (+{spec.freshness.escalate_after_days:g}d)")
        if spec.ack:
            duties.append(f"ack {spec.ack.deadline_hours:g}h")
        if spec.schedule and spec.schedule.cron:
            duties.append(f"cron {spec.schedule.cron}")
        if spec.schedule and spec.schedule.quiet_hours:
            duties.append(f"quiet {spec.schedule.quiet_hours}")
        rows.append({
            "rule": rule.name, "provider": ", ".join(spec.provider),
            "what": ", ".join(str(k) for k in spec.what.kinds)
            + (f" if {spec.what.filter}" if spec.what.filter else ""),
            "receivers": ", ".join(r.key for r in rule.receivers), "fields": ", ".join(spec.fields),
            "deliver": deliver, "confidential guard": guard, "duties": "; ".join(duties) or "-",
        })
    return rows


@rules_app.command("check")
def check(config: ConfigOpt = None) -> None:
    """Compile every rule and list them; a bad rule exits 2 with its file:line:column."""
    from collabhub.cli import load

    rows = check_rows(load(config))
    if not rows:
        console.print("No sharing rules are configured (`sharing:` is empty).")
        return
    console.print(f"{len(rows)} sharing rule(s) compiled", markup=False)
    for row in rows:
        console.print(f"\n{row['rule']}", markup=False, style="bold")
        for name, value in list(row.items())[1:]:
            console.print(f"  {name + ':':<20}{value}", markup=False, highlight=False, soft_wrap=True)


# -- preview ---------------------------------------------------------------------------------


@rules_app.command("preview")
def preview_command(
    config: ConfigOpt = None,
    receiver: Annotated[str | None, typer.Option("--receiver", "-r", help="only this receiver, e.g. "
                                                 "department:sales, project:apollo, office")] = None,
) -> None:
    """Dry run: what each receiver would get next, as a diff against what it has. Writes nothing."""
    from collabhub.rules.engine import RulesEngine
    from collabhub.rules.preview import preview, render_preview

    cfg, store = _load(config)
    try:
        entries = preview(RulesEngine(cfg, store), receiver=receiver)
    finally:
        store.dispose()
    console.print(render_preview(entries), markup=False, highlight=False, soft_wrap=True)


# -- audit -----------------------------------------------------------------------------------


_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """``7d`` / ``24h`` / ``30m`` / ``2w`` ago, or an ISO date or datetime (UTC when no offset)."""
    if value is None:
        return None
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"cannot read --since {value!r}", key="--since",
                          hint="use 7d, 24h, 30m, 2w, or an ISO date like 2024-05-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audit_records(store: Store, *, rule: str | None = None, receiver: str | None = None,
                  since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Delivered items, newest first, as plain records; ``rule`` also matches digests it fed."""
    records = []
    rows = store.deliveries(receiver=receiver, since=since, limit=100_000 if rule else limit)
    for row in rows:
        detail = row.detail or {}
        rules = detail.get("rules") or [row.rule]
        if rule is not None and rule != row.rule and rule not in rules:
            continue
        records.append({
            "at": row.at.isoformat(), "rule": row.rule, "rules": rules, "receiver": row.receiver,
            "kind": detail.get("kind", ""), "channel": row.channel, "target_connector": row.target_connector,
            "target": row.target_external_id, "url": row.url,
            "entity": f"{row.entity_connector}/{row.entity_kind}/{row.entity_external_id}",
            "entity_version": row.entity_version, "fields_sent": list(row.fields_sent),
            "confidential_reason": detail.get("confidential_reason"),
        })
        if len(records) >= limit:
            break
    return records


def format_audit(records: list[dict[str, Any]], fmt: str) -> str:
    """``jsonl`` (one JSON object per line) or ``table`` (aligned text columns)."""
    if fmt == "jsonl":
        return "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records)
    if fmt != "table":
        raise ConfigError(f"unknown --format {fmt!r}", key="--format", hint="use table or jsonl")
    columns = ("at", "rule", "receiver", "channel", "target_connector", "target", "entity", "entity_version",
               "fields_sent")
    cells = [[_cell(r[c]) for c in columns] for r in records]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def audit(
    config: ConfigOpt = None,
    rule: Annotated[str | None, typer.Option("--rule", help="only deliveries of this rule")] = None,
    receiver: Annotated[str | None, typer.Option("--receiver", help="only this receiver (department:sales...)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="7d, 24h, or an ISO date/datetime")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl")] = "table",
    limit: Annotated[int, typer.Option("--limit", help="most rows to show")] = 100,
) -> None:
    """What was delivered to whom: rule, receiver, entity version, fields sent, time, target object."""
    _cfg, store = _load(config)
    try:
        records = audit_records(store, rule=rule, receiver=receiver, since=parse_since(since), limit=limit)
    finally:
        store.dispose()
    if not records and fmt == "table":
        console.print("No deliveries match.")
        return
    console.print(format_audit(records, fmt), markup=False, highlight=False, soft_wrap=True)
