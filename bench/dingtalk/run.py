"""Benchmark: initial sync of the sample company at 10x scale through the engine, then a no-change run.

Prints wall time, items/s, API calls per stream against the minimum the DingTalk APIs allow (page
sizes, one call per calendar, ...), the calls that count against DingTalk's monthly quota, and the
rows written (0 when nothing changed). Run it with ``python bench/dingtalk/run.py [--scale N]``.
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collabhub.plugins import PluginHost
from collabhub.testing.company import generate_company
from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub.testing.sims.hub import sim_hub
from collabhub_dingtalk.plugin import simulator_settings

# simulator call path -> stream (first match wins)
_STREAM_OF = [
    (r"^/gettoken|^/v1\.0/oauth2/", "tokens"),
    (r"^/topapi/v2/department/listsub$", "departments"),
    (r"^/topapi/v2/department/listsubid$|^/topapi/v2/user/list$", "users"),
    (r"^/topapi/v2/user/get$", "user look-ups"),
    (r"^/v1\.0/rooms/meetingRoomLists", "rooms"),
    (r"/calendars/primary/events", "calendars"),
    (r"/meetingRooms/schedules/query", "room_schedules"),
    (r"^/v1\.0/todo/", "todos"),
    (r"^/v1\.0/workflow/", "approvals"),
]


def _stream_of(path: str) -> str:
    return next((name for pattern, name in _STREAM_OF if re.search(pattern, path)), "other")


def minimum_calls(sim: DingTalkSimulator, *, initial: bool, window_ms: int) -> Counter[str]:
    """The fewest calls the APIs allow for a complete pass (page sizes as documented)."""
    state = sim.state
    out: Counter[str] = Counter()
    nodes = len(state.departments)
    out["tokens"] = 2
    out["departments"] = nodes
    out["users"] = nodes + sum(max(1, math.ceil(len(state.users_by_dept.get(d, [])) / 100)) for d in state.departments)
    rooms = len(state.rooms)
    out["rooms"] = max(1, math.ceil(rooms / 100))
    out["room_schedules"] = max(1, math.ceil(rooms / 5))
    for union_id in state.by_union:
        events = len(state.user_events.get(union_id, ())) if initial else 0
        out["calendars"] += max(1, math.ceil(events / 100))
        todos = [state.todos[t] for t in state.user_todos.get(union_id, ())]
        open_, done = sum(1 for t in todos if not t["done"]), sum(1 for t in todos if t["done"])
        out["todos"] += max(1, math.ceil(open_ / 20)) + max(1, math.ceil(done / 20))
    if initial:
        out["todos"] += len(state.todos)  # each todo's detail once (description, executors)
    in_window = [a for a in state.approvals.values() if a["createMs"] >= window_ms]
    codes = Counter(a["processCode"] for a in in_window)
    out["approvals"] = sum(max(1, math.ceil(n / 20)) if initial else 1 for n in codes.values())
    running = sum(1 for a in in_window if a["result"]["status"] == "RUNNING")
    out["approvals"] += len(in_window) if initial else running
    return out


def _report(title: str, summary: Any, seconds: float, sim: DingTalkSimulator, minimum: Counter[str],
            quota: int) -> None:
    calls = Counter(_stream_of(c.path) for c in sim.calls)
    items = sum(s.created + s.updated + s.unchanged for s in summary.streams.values())
    written = summary.total("created") + summary.total("updated") + summary.total("deleted")
    print(f"\n== {title}: status {summary.status}, {seconds:.2f} s wall, {items} items read, "
          f"{items / seconds:,.0f} items/s, rows written {written}")
    print(f"   API calls {sum(calls.values())} (minimum {sum(minimum.values())}), "
          f"counted against the monthly quota: {quota}")
    for name in sorted(set(calls) | set(minimum)):
        print(f"   {name:<16} {calls.get(name, 0):>6} calls   minimum {minimum.get(name, 0):>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    company = generate_company(scale=args.scale)
    print(f"sample company x{args.scale}: {len(company.people)} people, "
          f"{len(company.meetings_in('dingtalk'))} DingTalk meetings, {sum(1 for _ in company.tasks_in('dingtalk'))} "
          f"todos, {len(company.rooms_in('dingtalk'))} rooms")
    with DingTalkSimulator(company) as sim, tempfile.TemporaryDirectory() as tmp:
        settings = simulator_settings(sim)
        window_ms = int(datetime.combine(date.fromisoformat(settings["window_start"]), datetime.min.time(),
                                         ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
        hub = sim_hub(Path(tmp), "dingtalk", {"type": "dingtalk", **settings}, db="bench",
                      host=PluginHost(allow={"dingtalk"}))
        for title, initial in (("initial sync", True), ("no-change incremental", False)):
            sim.reset_calls()
            quota_before = sim.quota_used
            started = time.perf_counter()
            summary = hub.run("dingtalk")
            seconds = time.perf_counter() - started
            minimum = minimum_calls(sim, initial=initial, window_ms=window_ms)
            _report(title, summary, seconds, sim, minimum, sim.quota_used - quota_before)
        print(f"\n   entities in the store: {sum(1 for _ in hub.store.iter_entities())}")


if __name__ == "__main__":
    main()
