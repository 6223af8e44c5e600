"""Engine throughput: a synthetic connector feeds N tasks through normalize -> identity -> store.

Prints entities/s and peak RSS for N = 10k and 100k on SQLite and (when reachable) PostgreSQL.
Each case runs in a fresh subprocess so its peak RSS is its own.

    python bench/engine/run.py                 # all cases
    python bench/engine/run.py --n 100000 --db sqlite
    COLLABHUB_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/engine/run.py

Targets (2-core machine): >= 20,000 entities/s on SQLite at 100k; peak RSS at 100k no more
than 50 MB above 10k (pages stream through; nothing holds all records).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("COLLABHUB_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PAGE = 1000
STATUSES = ("todo", "in_progress", "done")


def _case(n: int, db: str) -> dict[str, Any]:
    from collabhub.config import load_config
    from collabhub.connector import CheckResult, Connector, ConnectorConfig, Page, Stream
    from collabhub.engine import Engine
    from collabhub.hookspecs import hookimpl
    from collabhub.model import Entity, EntityKind, Task
    from collabhub.plugins import PluginHost
    from collabhub.store import Store

    class Settings(ConnectorConfig):
        n: int
        people: int = 500

    class Tasks(Stream):
        """Records shaped like a tracker's JSON (ids, strings, ISO 8601 times), as a real API sends."""

        name = "tasks"
        kind = EntityKind.TASK

        async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
            total = self.connector.config.n
            people = self.connector.config.people
            start = int((cursor or {}).get("offset", 0))
            for offset in range(start, total, PAGE):
                records = [{"id": str(i), "title": f"Task {i}", "status": STATUSES[i % 3],
                            "assignee": {"accountId": f"acc-{i % people}", "email": f"p{i % people}@example.com"},
                            "department": "ENG" if i % 2 else "OPS", "labels": ["bench"],
                            "updated": f"2026-11-{2 + i // 86400 % 27:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                                       f"{i % 60:02d}Z",
                            "due": f"2026-12-{1 + i % 30:02d}"}
                           for i in range(offset, min(total, offset + PAGE))]
                yield Page(records=records, cursor={"offset": offset + len(records)})

        def normalize(self, record: Any) -> Iterable[Entity]:
            # one validation of nested dicts (cheaper than building SourceRef/PersonRef first)
            connector = self.connector.name
            assignee = record["assignee"]
            yield Task.model_validate({
                "source": {"connector": connector, "kind": "task", "external_id": record["id"]},
                "title": record["title"], "status": record["status"], "status_category": record["status"],
                "assignee": {"connector": connector, "external_id": assignee["accountId"],
                             "email": assignee["email"]},
                "department": record["department"], "labels": record["labels"], "updated": record["updated"],
                "due": record["due"],
            })

    class Synthetic(Connector):
        type = "synthetic"
        Config = Settings
        stream_classes = (Tasks,)

        async def check(self) -> CheckResult:
            return CheckResult.passed("synthetic")

    class Plugin:
        @hookimpl
        def register_connectors(self, register):
            register(Synthetic)

    host = PluginHost(load_entry_points=False)
    host.register(Plugin(), name="bench")
    tmp = Path(tempfile.mkdtemp(prefix="collabhub-bench-"))
    if db == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
        cleanup = None
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    cfg = tmp / "bench.yaml"
    cfg.write_text(json.dumps({
        "store": {"url": url},
        "connectors": {"synthetic": {"type": "synthetic", "n": n}},
        "departments": [{"id": "eng", "name": "Engineering", "aliases": {"synthetic": ["ENG"]}},
                        {"id": "ops", "name": "Operations", "aliases": {"synthetic": ["OPS"]}}],
    }))
    config = load_config(cfg, host=host)
    store = Store(config.store.url)
    store.upgrade()

    async def run() -> Any:
        engine = Engine(config, store, host)
        try:
            return await engine.run_connector("synthetic")
        finally:
            await engine.aclose()

    t0 = time.perf_counter()
    summary = asyncio.run(run())
    seconds = time.perf_counter() - t0
    changes = store.max_change_id()
    t1 = time.perf_counter()
    store.set_cursor("synthetic", "tasks", None)
    again = asyncio.run(run())
    noop_seconds = time.perf_counter() - t1
    store.dispose()
    if cleanup:
        cleanup()
    shutil.rmtree(tmp, ignore_errors=True)  # the SQLite file of a 100k case is over 100 MB
    return {
        "n": n, "db": db, "status": summary.status, "created": summary.total("created"), "changes": changes,
        "seconds": round(seconds, 2), "entities_per_s": round(n / seconds),
        "unchanged_rerun_per_s": round(n / noop_seconds), "rerun_written": again.total("created") +
        again.total("updated"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _pg_ok() -> bool:
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="entities (repeatable); default 10k and 100k")
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_case(args.n[0], args.db[0])))
        return
    sizes = args.n or [10_000, 100_000]
    dbs = args.db or (["sqlite", "postgres"] if _pg_ok() else ["sqlite"])
    if "postgres" not in dbs and not args.db:
        print(f"PostgreSQL not reachable at {PG_URL}: PostgreSQL cases skipped")
    results = []
    for db in dbs:
        for n in sizes:
            out = subprocess.run([sys.executable, __file__, "--child", "--n", str(n), "--db", db],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{db} n={n}: failed\n{out.stderr[-2000:]}")
                continue
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'db':9} {'N':>8} {'entities/s':>11} {'seconds':>8} {'peak RSS MB':>12} {'rerun ent/s':>12} "
          f"{'rerun writes':>13}")
    for r in results:
        print(f"{r['db']:9} {r['n']:>8} {r['entities_per_s']:>11} {r['seconds']:>8} {r['peak_rss_mb']:>12} "
              f"{r['unchanged_rerun_per_s']:>12} {r['rerun_written']:>13}")
    for db in dbs:
        by_n = {r["n"]: r for r in results if r["db"] == db}
        if 10_000 in by_n and 100_000 in by_n:
            growth = by_n[100_000]["peak_rss_mb"] - by_n[10_000]["peak_rss_mb"]
            print(f"{db}: peak RSS growth 10k -> 100k: {growth:+.1f} MB (target <= 50 MB); "
                  f"100k throughput {by_n[100_000]['entities_per_s']}/s"
                  + (" (target >= 20,000/s)" if db == "sqlite" else ""))


if __name__ == "__main__":
    main()
