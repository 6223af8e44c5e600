"""Microsoft 365 connector benchmark: initial sync of 200 mailboxes x 200 events plus 50 rooms,
then a no-change incremental run.

The simulator runs in a child process (over loopback TLS, as Graph is reached), so the figures
are those of the hub process alone. The real engine and store (SQLite in a temporary directory)
do the syncing; each run prints wall time, events/s end to end, Graph calls against the minimum
the API allows, rows written and peak RSS. A connector-only pass (read + normalize, no store)
is printed too, to separate the connector's cost from the store's.

    python bench/m365/run.py
    python bench/m365/run.py --mailboxes 50 --events 100 --rooms 10 --page-size 200
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import resource
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

NAME = "m365-bench"


def _serve(conn: Connection, mailboxes: int, events: int, rooms: int, room_events: int) -> None:
    """Child process: seed and serve the simulator; answer call counts until told to stop."""
    from collabhub.testing.sims.m365 import M365Simulator

    sim = M365Simulator()
    addresses = sim.seed_bulk(mailboxes=mailboxes, events_per_mailbox=events, rooms=rooms,
                              events_per_room=room_events,
                              start=datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    sim.start()
    conn.send({"settings": sim.connector_settings(mailboxes=addresses, group=None)})
    while True:
        command = conn.recv()
        if command == "reset":
            sim.reset_calls()
            conn.send(None)
        elif command == "count":
            conn.send({"all": sim.count(), "delta": sim.count(r"/calendarView/delta$", regex=True),
                       "places": sim.count("/v1.0/places")})
        else:
            sim.stop()
            conn.send(None)
            return


def _pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def connector_only(settings: dict[str, Any]) -> tuple[float, int, int]:
    """Read + normalize every stream without a store: (seconds, meetings, Graph calls)."""
    from collabhub_m365.connector import M365Connector

    async with M365Connector(NAME, M365Connector.Config.model_validate(settings)) as connector:
        started = time.perf_counter()
        meetings = 0
        for stream in connector.streams():
            async for page in stream.read(None):
                for record in page.records:
                    produced = list(stream.normalize(record))
                    meetings += len(produced) if stream.name == "events" else 0
        return time.perf_counter() - started, meetings, connector.api_calls


async def run(args: argparse.Namespace) -> None:
    from collabhub.testing.sims.hub import sim_hub

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(child, args.mailboxes, args.events, args.rooms,
                                                                   args.room_events), daemon=True)
    server.start()
    settings = {**parent.recv()["settings"], "page_size": args.page_size,
                "parallel_mailboxes": args.parallel}
    settings["http"] = {**settings.get("http", {}), "max_concurrency": args.parallel}
    total_events = args.mailboxes * args.events
    minimum_initial = (args.mailboxes * _pages(args.events, args.page_size) + _pages(args.rooms, 100)
                       + args.rooms * _pages(args.room_events, args.page_size))
    minimum_again = args.mailboxes + 1 + args.rooms
    store = "SQLite (temporary file)" if not args.store_url else args.store_url.split("://", 1)[0]
    print(f"Microsoft 365 benchmark: {args.mailboxes} mailboxes x {args.events} events, {args.rooms} rooms "
          f"x {args.room_events} bookings; page size {args.page_size}, {args.parallel} mailboxes in parallel; "
          f"store {store}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, meetings, calls = await connector_only(settings)
            print(f"\nconnector only (read + normalize, no store): {seconds:.2f} s, "
                  f"{meetings / seconds:,.0f} events/s, {calls} Graph calls, peak RSS {_rss_mb():.0f} MB")
            engine = sim_hub(Path(tmp), NAME, {"type": "m365", **settings}, db="bench", store_url=args.store_url,
                             context_factory=None).engine()
            try:
                for label, minimum in (("initial sync", minimum_initial), ("no-change incremental", minimum_again)):
                    parent.send("reset")
                    parent.recv()
                    started = time.perf_counter()
                    summary = await engine.run_connector(NAME)
                    seconds = time.perf_counter() - started
                    parent.send("count")
                    counts = parent.recv()
                    events = summary.streams["events"].created + summary.streams["events"].updated
                    written = summary.total("created") + summary.total("updated") + summary.total("deleted")
                    errors = "; ".join(summary.errors)
                    print(f"\n{label}: status {summary.status}{' ' + errors if errors else ''}")
                    print(f"  wall time        {seconds:8.2f} s")
                    if label == "initial sync":
                        print(f"  events           {events:8d}   ({total_events / seconds:,.0f} events/s end to end)")
                    print(f"  Graph calls      {counts['all']:8d}   (minimum {minimum}; calendarView delta "
                          f"{counts['delta']} for {args.mailboxes + args.rooms} mailboxes, places {counts['places']})")
                    print(f"  rows written     {written:8d}   (created {summary.total('created')}, "
                          f"updated {summary.total('updated')}, deleted {summary.total('deleted')})")
                    print(f"  peak RSS         {_rss_mb():8.0f} MB")
            finally:
                await engine.aclose()
    finally:
        parent.send("stop")
        parent.recv()
        server.join(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=200)
    parser.add_argument("--events", type=int, default=200, help="events per mailbox")
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--room-events", type=int, default=20, help="bookings per room calendar")
    parser.add_argument("--page-size", type=int, default=100, help="Prefer: odata.maxpagesize")
    parser.add_argument("--parallel", type=int, default=8, help="mailboxes read at the same time")
    parser.add_argument("--store-url", default=None, help="an EMPTY database to use instead of a temporary SQLite "
                        "file (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/m365_bench)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
