"""End-to-end cycle of the sample company through every simulator: pull, rules, push.

    python bench/cycle/run.py [--scale 10]

Starts each registered simulator with the sample company at ``--scale``, loads
``config/demo.yaml``, runs one full cycle into a fresh SQLite store and times it, then runs a
second cycle with nothing changed remotely: that one must send nothing and write no deliveries.
Prints figures; asserts only the no-change outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collabhub.config import load_config
from collabhub.demo import start_simulators, stop_simulators
from collabhub.engine import Engine
from collabhub.plugins import PluginHost
from collabhub.store import Store
from collabhub.testing.company import generate_company

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    host = PluginHost()
    today = datetime.now(UTC).date()
    company = generate_company(args.scale, start=today - timedelta(days=today.weekday()))
    sims, env = start_simulators(host, company, only=set(host.connector_types()))
    db = Path(tempfile.mkdtemp(prefix="collabhub-cycle-")) / "cycle.sqlite"
    os.environ.update(env)
    os.environ["COLLABHUB_DATABASE_URL"] = f"sqlite:///{db}"
    try:
        config = load_config(ROOT / "config" / "demo.yaml", host=host)
        store = Store(config.store.url)
        store.upgrade()

        async def cycle() -> tuple[list, dict]:
            engine = Engine(config, store, host)
            try:
                runs = await engine.sync(rules=False)
                return runs, await engine.run_rules()
            finally:
                await engine.aclose()

        print(f"sample company x{args.scale}: {len(company.people)} people, {len(company.tasks)} tasks, "
              f"{len(company.meetings)} meetings, {len(company.rooms)} rooms")
        for label in ("first cycle", "no-change cycle"):
            deliveries_before = len(store.deliveries(limit=1_000_000))
            changes_before = store.max_change_id()
            t0 = time.perf_counter()
            runs, rules = asyncio.run(cycle())
            seconds = time.perf_counter() - t0
            written = sum(r.total("created") + r.total("updated") + r.total("deleted") for r in runs)
            calls = sum(r.api_calls for r in runs)
            planned, dispatched = rules.get("planned"), rules.get("dispatched")
            new_deliveries = len(store.deliveries(limit=1_000_000)) - deliveries_before
            print(f"{label}: {seconds:.2f} s; {calls} API calls; {written} entity rows written "
                  f"({store.max_change_id() - changes_before} change records); "
                  f"{planned.enqueued if planned else 0} deliveries planned, "
                  f"{dispatched.sent if dispatched else 0} sent, {dispatched.parked if dispatched else 0} parked; "
                  f"{new_deliveries} delivery rows written")
            for run in runs:
                print(f"  {run.connector:9} {run.status:8} {run.seconds:6.2f} s  {run.api_calls:5} calls  "
                      f"+{run.total('created')} ~{run.total('updated')} -{run.total('deleted')}")
        assert new_deliveries == 0, "a cycle with no remote change must send nothing"
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        stop_simulators(sims)


if __name__ == "__main__":
    main()
