"""Feishu connector benchmark: initial sync of the sample company at 10x scale, then a no-change run.

Runs the real engine and store (SQLite in a temporary directory) against the Feishu simulator
over loopback, and prints per run: wall time, items/s, API calls against the minimum the API
allows, and rows written (0 when nothing changed).

    python bench/feishu/run.py               # scale 10
    python bench/feishu/run.py --scale 1
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

NAME = "feishu-bench"


def _pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def minimum_calls(sim: Any, settings: dict[str, Any], *, first: bool) -> dict[str, int]:
    """The fewest API calls a client can make for one run, given the API's paging and increment rules."""
    state = sim.state
    need: Counter[str] = Counter()
    page = settings.get("event_page_size", 500)
    scope = sorted(set(state.app_calendar_ids) | set(state.primary_of.values()))
    if first:
        need["token"] = 1
        need["departments"] = _pages(len(state.departments), 50)
        need["users"] = sum(_pages(len(state.users_by_department.get(d, [])), 50)
                            for d in ["0", *[d["open_department_id"] for d in state.departments]])
        need["rooms"] = _pages(len(state.rooms), 100)
        need["calendar scope"] = _pages(len(state.app_calendar_ids), 500) + _pages(len(state.users), 10)
        need["events"] = sum(_pages(len(state.live_events(c, None)), page) for c in scope)
        need["tasks"] = _pages(len(state.tasklists), 100) + sum(
            _pages(len(g), 100) for g in state.tasklist_tasks.values()) + len(state.tasks)
        for code in state.approvals:
            n = len(state.instances_by_approval.get(code, []))
            need["approvals"] += _pages(n, 100) + n
        need["event subscriptions"] = len(settings.get("approvals", []))  # once per process (upkeep)
    else:
        need["events"] = len(scope)  # one sync_token call per calendar
        need["tasks"] = _pages(len(state.tasklists), 100) + sum(_pages(len(g), 100)
                                                                for g in state.tasklist_tasks.values())
        pending = sum(1 for i in state.instances.values() if i["status"] == "PENDING")
        need["approvals"] = len(state.approvals) + pending  # list the new window; re-check what is pending
    return dict(need)


async def run(scale: int) -> None:
    from collabhub.testing.company import generate_company
    from collabhub.testing.sims.feishu import FeishuSimulator
    from collabhub.testing.sims.hub import sim_hub

    company = generate_company(scale=scale)
    with tempfile.TemporaryDirectory() as tmp, FeishuSimulator(company) as sim:
        settings = sim.connector_settings()
        engine = sim_hub(Path(tmp), NAME, {"type": "feishu", **settings}, db="bench").engine()
        calendars = len(set(sim.state.app_calendar_ids) | set(sim.state.primary_of.values()))
        print(f"Feishu benchmark: sample company x{scale} ({len(company.people)} people, "
              f"{len(sim.state.events)} events on {calendars} calendars, {len(sim.state.rooms)} rooms, "
              f"{len(sim.state.tasks)} tasks, "
              f"{len(sim.state.instances)} approval instances)")
        try:
            for label, first in (("initial sync", True), ("no-change incremental", False)):
                sim.reset_calls()
                started = time.perf_counter()
                summary = await engine.run_connector(NAME)
                seconds = time.perf_counter() - started
                items = sum(s.created + s.updated + s.unchanged for s in summary.streams.values())
                written = summary.total("created") + summary.total("updated") + summary.total("deleted")
                minimum = minimum_calls(sim, settings, first=first)
                print(f"\n{label}: status {summary.status}{' ' + '; '.join(summary.errors) if summary.errors else ''}")
                print(f"  wall time        {seconds:8.2f} s")
                print(f"  items            {items:8d}   ({items / seconds if seconds else 0:,.0f} items/s)")
                print(f"  API calls        {sim.count():8d}   (minimum {sum(minimum.values())}: "
                      + ", ".join(f"{k} {v}" for k, v in minimum.items()) + ")")
                print(f"  rows written     {written:8d}   (created {summary.total('created')}, "
                      f"updated {summary.total('updated')}, deleted {summary.total('deleted')})")
        finally:
            await engine.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    asyncio.run(run(parser.parse_args().scale))


if __name__ == "__main__":
    main()
