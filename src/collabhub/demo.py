"""``collabhub demo``: every simulator, the sample company, one full cycle, a readable summary.

The demo needs no credentials. It starts each registered simulator (``register_simulators``)
seeded with the sample company, exports where each one listens as environment variables
(``COLLABHUB_DEMO_<NAME>__<SETTING>``, which ``config/demo.yaml`` interpolates), loads that
config, runs one cycle (pull, rules, push) into a fresh SQLite store, and prints what was pulled,
what each receiver got, stale shares and conflicts. ``--keep-running`` then runs the daemon with
the simulators up until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from collabhub.errors import ConfigError

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.engine import RunSummary
    from collabhub.plugins import PluginHost
    from collabhub.store import Store
    from collabhub.testing.simulator import Simulator

__all__ = ["DemoResult", "env_name", "run_demo"]

DEMO_DIR = ".collabhub-demo"
DEMO_BASE_PORT = 18101  # simulators listen on 18101, 18102, ... in name order when those are free


def env_name(spec_name: str, key: str) -> str:
    """``COLLABHUB_DEMO_<SPEC>__<KEY>`` (upper case, non-alphanumerics as underscores)."""
    clean = re.sub(r"[^A-Za-z0-9]", "_", spec_name).upper()
    return f"COLLABHUB_DEMO_{clean}__{re.sub(r'[^A-Za-z0-9]', '_', key).upper()}"


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}__{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple):
        out[prefix] = ",".join(str(v) for v in value)
    elif value is not None:
        out[prefix] = str(value)


@dataclass
class DemoResult:
    runs: list[RunSummary]
    rules: dict[str, Any]
    seconds: float
    store: Store
    config: HubConfig
    simulators: dict[str, Simulator] = field(default_factory=dict)


def start_simulators(host: PluginHost, company: Any, only: set[str] | None = None,
                     ) -> tuple[dict[str, Simulator], dict[str, str]]:
    """Start every registered simulator; return them and the environment that points at them."""
    sims: dict[str, Simulator] = {}
    env: dict[str, str] = {}
    for index, (name, spec) in enumerate(sorted(host.simulators().items())):
        if only is not None and spec.connector_type not in only:
            continue
        sim = spec.create(company)
        try:  # the port config/demo.yaml names by default, so `collabhub sync -c config/demo.yaml` finds it
            sim.start(port=DEMO_BASE_PORT + index)
        except (RuntimeError, OSError):
            sim.stop()
            sim = spec.create(company)
            sim.start()
        sims[name] = sim
        flat: dict[str, str] = {}
        _flatten("", spec.settings(sim), flat)
        for key, value in flat.items():
            env[env_name(name, key)] = value
    return sims, env


def stop_simulators(sims: dict[str, Simulator]) -> None:
    for sim in sims.values():
        with contextlib.suppress(Exception):
            sim.stop()


def run_demo(config_path: Path, host: PluginHost, *, workdir: Path | None = None, today: date | None = None,
             keep_running: bool = False, console: Console | None = None) -> DemoResult:
    """Run the whole demo; raises ``ConfigError`` when the demo config is missing or wrong."""
    from collabhub.config import load_config
    from collabhub.engine import Engine
    from collabhub.store import Store
    from collabhub.testing.company import generate_company

    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)
    if not config_path.is_file():
        raise ConfigError(f"demo config {config_path} not found",
                          hint="run the demo from the repository root, or pass -c config/demo.yaml")
    workdir = workdir or Path(DEMO_DIR)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "demo.sqlite"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db}{suffix}").unlink()

    started = time.monotonic()
    today = today or datetime.now(UTC).date()
    company = generate_company(start=today - timedelta(days=today.weekday()))
    sims, env = start_simulators(host, company, only=set(host.connector_types()))
    saved = {k: os.environ.get(k) for k in [*env, "COLLABHUB_DATABASE_URL"]}
    os.environ.update(env)
    os.environ["COLLABHUB_DATABASE_URL"] = f"sqlite:///{db}"
    try:
        config = load_config(config_path, host=host)
        store = Store(config.store.url)
        store.upgrade()

        async def cycle() -> tuple[list[RunSummary], dict[str, Any]]:
            engine = Engine(config, store, host)
            try:
                runs = await engine.sync(rules=False)
                rules = await engine.run_rules()
                return runs, rules
            finally:
                await engine.aclose()

        with console.status("demo: pulling from every simulator, applying the sharing rules, pushing back"):
            runs, rules = asyncio.run(cycle())
        result = DemoResult(runs, rules, time.monotonic() - started, store, config, sims)
        print_summary(result, company, console)
        if keep_running:
            from collabhub.scheduler import Daemon

            console.print("\n[bold]--keep-running[/]: daemon and simulators stay up; Ctrl-C stops them.")
            for name, sim in sims.items():
                console.print(f"  {name}: {sim.base_url}")

            async def forever() -> None:
                engine = Engine(config, store, host)
                daemon = Daemon(engine)
                daemon.install_signal_handlers()
                await daemon.run()

            asyncio.run(forever())
        return result
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        stop_simulators(sims)


def print_summary(result: DemoResult, company: Any, console: Console) -> None:
    """What was pulled, identity joins, what each receiver got, stale shares, conflicts."""
    store = result.store
    console.rule("[bold]collabhub demo")
    pulled = Table(title="pulled into the unified model")
    kinds = ["task", "meeting", "booking", "resource", "person", "department", "project"]
    pulled.add_column("connector")
    pulled.add_column("status")
    for kind in kinds:
        pulled.add_column(kind, justify="right")
    pulled.add_column("api calls", justify="right")
    for run in result.runs:
        counts = [str(store.count_entities(kind=k, connector=run.connector)) for k in kinds]
        pulled.add_row(run.connector, run.status, *counts, str(run.api_calls))
    console.print(pulled)
    for run in result.runs:
        for error in run.errors:
            console.print(f"  [yellow]{run.connector}[/]: {error}")

    people = list(store.iter_people())
    linked = Counter(len({c for c, _, _ in store.identities_of(p.id)}) for p in people)
    review = store.review_items()
    console.print(f"\n[bold]people[/]: {len(people)} hub people; "
                  + ", ".join(f"{n} known in {k} system{'s' if k != 1 else ''}" for k, n in sorted(linked.items(),
                                                                                                  reverse=True))
                  + f"; {len(review)} reference(s) on the identity review list (never guessed)")

    deliveries = store.deliveries(limit=10_000)
    by_receiver: dict[str, Counter[str]] = defaultdict(Counter)
    for d in deliveries:
        by_receiver[d.receiver or "-"][d.channel] += 1
    table = Table(title="what each receiver got")
    table.add_column("receiver")
    table.add_column("deliveries")
    for receiver, channels in sorted(by_receiver.items()):
        table.add_row(receiver, ", ".join(f"{n} {c}" for c, n in sorted(channels.items())))
    if by_receiver:
        console.print(table)
    else:
        console.print("\nno deliveries were made (no sharing rules matched)")
    counts = store.outbox_counts()
    if counts.get("parked"):
        console.print(f"[yellow]{counts['parked']} delivery(ies) parked[/]: see `collabhub status`")

    planned = (result.rules or {}).get("planned")
    dispatched = (result.rules or {}).get("dispatched")
    if planned is not None:
        console.print(f"\n[bold]rules[/]: {planned.changes} changes checked against the rules "
                      f"({planned.checks} entity × rule checks), {planned.enqueued} deliveries planned "
                      f"({planned.items} items, {planned.digests} digests, {planned.reminders} reminders, "
                      f"{planned.escalations} escalations); {planned.held} held for quiet hours or schedules")
        console.print(f"[bold]stale shares[/]: {planned.reminders} reminder(s) to providers, "
                      f"{planned.escalations} escalation(s) to the coordination office")
    if dispatched is not None:
        console.print(f"[bold]pushed[/]: {dispatched.sent} sent, {dispatched.retried} to retry, "
                      f"{dispatched.parked} parked")
        for error in dispatched.errors[:5]:
            console.print(f"  [yellow]{error}[/]", markup=True, highlight=False)
    conflicts = room_conflicts(store, result.config.tz)
    console.print(f"\n[bold]room conflicts[/]: {len(conflicts)}")
    for res, a, b in conflicts[:10]:
        console.print(f"  {res}: {a} overlaps {b}")
    console.print(f"\ndone in {result.seconds:.1f} s")


def room_conflicts(store: Store, tz: Any = UTC) -> list[tuple[str, str, str]]:
    """Confirmed bookings of the same resource whose times overlap (double bookings), times in ``tz``."""
    by_room: dict[tuple[str, str], list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for row in store.iter_entities(kind="booking"):
        data = row.data
        if data.get("status") not in ("confirmed", "requested"):
            continue
        start = datetime.fromisoformat(data["start"]).astimezone(tz)
        end = datetime.fromisoformat(data["end"]).astimezone(tz)
        by_room[(row.connector, data["resource_id"])].append((start, end, data.get("title") or row.external_id))
    out = []
    for (connector, room), spans in by_room.items():
        spans.sort()
        latest: tuple[datetime, datetime, str] | None = None
        for span in spans:
            start, _, title = span
            if latest is not None and start < latest[1] and (start, span[1]) != (latest[0], latest[1]):
                earlier = f"{latest[2]} {latest[0]:%m-%d %H:%M}"
                out.append((f"{connector}/{room}", earlier, f"{title} {start:%m-%d %H:%M}"))
            if latest is None or span[1] > latest[1]:
                latest = span
    return out
