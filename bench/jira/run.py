"""Jira connector benchmark: full sync of 10k and 50k issues from the simulator, then a no-change run.

Each case runs in a fresh subprocess (its peak RSS is its own) with the simulator in a second process
(its CPU and memory are not the connector's). The connector reads the Cloud enhanced search,
100 issues a page (Jira Cloud's cap when fields are requested), through the real engine into a
SQLite store.

    python bench/jira/run.py                  # N = 10k and 50k
    python bench/jira/run.py --n 100000       # any size the simulator holds

Prints, per N: wall time, issues/s end to end, API calls against the minimum ceil(N / page size),
peak RSS; then for a no-change incremental run: API calls and rows written.
Targets: API calls within 5% of the minimum; the no-change run makes one search call per JQL scope
and writes 0 rows; 50k issues at >= 3,000 issues/s end to end.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PAGE_SIZE = 100


def _serve(n: int, conn: Any) -> None:
    """Simulator process: seed n issues, serve, report settings, wait for the word to stop."""
    from collabhub.testing.company import generate_company
    from collabhub.testing.sims.jira import JiraSimulator

    sim = JiraSimulator(generate_company(tasks=n, task_systems=("jira",)))
    sim.start()
    conn.send(sim.connector_settings())
    conn.recv()
    sim.stop()


def _directory() -> dict[str, Any]:
    """Departments with their Jira project keys, and the manual links an admin keeps for the Jira
    accounts whose email is hidden (identity cannot match those by email)."""
    from collabhub.testing.company import generate_company

    company = generate_company(tasks=0)
    departments = [{"id": d.id, "name": d.name_en, "aliases": {"jira": [d.jira_key]}} for d in company.departments]
    people = [{"name": p.name_en, "email": p.email, "department": p.department, "ids": {"jira": [p.jira_account_id]}}
              for p in company.people if not p.email_visible_in_jira]
    return {"departments": departments, "people": people}


def _case(n: int) -> dict[str, Any]:
    from collabhub.plugins import PluginHost
    from collabhub.testing.sims.hub import sim_hub
    from collabhub_jira import plugin

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(n, child), daemon=True)
    server.start()
    settings = parent.recv()
    host = PluginHost(load_entry_points=False)
    host.register(plugin, name="jira")
    tmp = Path(tempfile.mkdtemp(prefix="collabhub-bench-jira-"))
    hub = sim_hub(tmp, "jira", {"type": "jira", **settings, "page_size": PAGE_SIZE}, db="bench", host=host,
                  context_factory=None, **_directory())
    store = hub.store

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    try:
        t0, c0 = time.perf_counter(), cpu()
        full = hub.run("jira")
        seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
        t1 = time.perf_counter()
        again = hub.run("jira")
        again_seconds = time.perf_counter() - t1
    finally:
        parent.send("stop")
        server.join(timeout=30)
        store.dispose()
    written = sum(again.total(k) for k in ("created", "updated", "deleted"))
    return {
        "n": n, "status": full.status, "errors": full.errors[:3], "created": full.total("created"),
        "seconds": round(seconds, 2), "issues_per_s": round(n / seconds), "api_calls": full.api_calls,
        "cpu_seconds": round(cpu_seconds, 2), "issues_per_cpu_s": round(n / cpu_seconds),
        "minimum": math.ceil(n / PAGE_SIZE), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                                                  / 1024, 1),
        "noop_status": again.status, "noop_calls": again.api_calls, "noop_written": written,
        "noop_seconds": round(again_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="issues (repeatable); default 10k and 50k")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_case(args.n[0])))
        return
    results = []
    for n in args.n or [10_000, 50_000]:
        out = subprocess.run([sys.executable, __file__, "--child", "--n", str(n)], capture_output=True, text=True,
                             check=False)
        if out.returncode != 0:
            print(f"n={n}: failed\n{out.stderr[-3000:]}")
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'N':>7} {'status':>7} {'seconds':>8} {'issues/s':>9} {'per CPU s':>10} {'API calls':>10} {'minimum':>8} "
          f"{'over min':>9} {'peak RSS MB':>12} | {'no-change calls':>15} {'rows written':>13}")
    for r in results:
        over = (r["api_calls"] - r["minimum"]) / r["minimum"] * 100
        print(f"{r['n']:>7} {r['status']:>7} {r['seconds']:>8} {r['issues_per_s']:>9} {r['issues_per_cpu_s']:>10} "
              f"{r['api_calls']:>10} "
              f"{r['minimum']:>8} {over:>8.1f}% {r['peak_rss_mb']:>12} | {r['noop_calls']:>15} "
              f"{r['noop_written']:>13}")
        if r["errors"]:
            print(f"  errors: {r['errors']}")
    print("targets: API calls within 5% of the minimum; no-change run: 1 search call, 0 rows; "
          "50k at >= 3,000 issues/s")
    print("'per CPU s' divides N by the CPU time of the connector process alone (the simulator runs in its own "
          "process): a figure that other load on the machine does not move")


if __name__ == "__main__":
    main()
