"""Cursors, re-reads, sweeps and bounded pages."""

from __future__ import annotations

import csv
import json
import os
import tracemalloc

import pytest

from collabhub.errors import Action, ConnectorError

HEADERS = ["id", "title", "status"]
SOURCE = {"path": "items.csv", "kind": "task", "id_column": "id", "columns": {"title": "title", "status": "status"}}


def rows(*ids: str) -> list[list[str]]:
    return [[i, f"title {i}", "todo"] for i in ids]


async def test_unchanged_file_yields_no_pages(kit):
    kit.csv("items.csv", HEADERS, rows("a", "b"))
    conn = kit.connector(SOURCE)
    [page] = await kit.pages(conn)
    assert page.cursor is not None
    json.dumps(page.cursor)  # storable as it is
    assert await kit.pages(conn, cursor=page.cursor) == []


async def test_touched_but_identical_file_yields_no_pages(kit):
    path = kit.csv("items.csv", HEADERS, rows("a"))
    conn = kit.connector(SOURCE)
    [page] = await kit.pages(conn)
    os.utime(path, ns=(page.cursor["mtime_ns"] + 5_000_000_000,) * 2)
    assert await kit.pages(conn, cursor=page.cursor) == []


async def test_changed_file_is_read_again_in_full(kit):
    kit.csv("items.csv", HEADERS, rows("a", "b"))
    conn = kit.connector(SOURCE)
    [first] = await kit.pages(conn)
    kit.csv("items.csv", HEADERS, [["a", "renamed", "done"], *rows("b")])
    [again] = await kit.pages(conn, cursor=first.cursor)
    assert [r["values"]["title"] for r in again.records] == ["renamed", "title b"]
    assert again.cursor != first.cursor


async def test_changed_mapping_reads_an_unchanged_file_again(kit):
    kit.csv("items.csv", HEADERS, rows("a"))
    [page] = await kit.pages(kit.connector(SOURCE))
    remapped = kit.connector({**SOURCE, "status_map": {"todo": "in_progress"}})
    [again] = await kit.pages(remapped, cursor=page.cursor)
    assert len(again.records) == 1


async def test_vanished_rows_are_left_out_of_the_sweep(kit):
    kit.csv("items.csv", HEADERS, rows("a", "b", "c"))
    conn = kit.connector(SOURCE)
    [first] = await kit.pages(conn)
    assert first.sweep == {"a", "b", "c"}
    kit.csv("items.csv", HEADERS, rows("a", "c"))
    [again] = await kit.pages(conn, cursor=first.cursor)
    assert again.sweep == {"a", "c"}


async def test_emptied_sheet_sweeps_everything(kit):
    kit.csv("items.csv", HEADERS, [])
    [page] = await kit.pages(kit.connector(SOURCE))
    assert not page.records and page.sweep == frozenset() and page.cursor is not None


async def test_rows_with_bad_cells_still_count_as_present(kit):
    kit.csv("items.csv", HEADERS, [["a", "", "todo"], ["b", "ok", "weird"]])
    [page] = await kit.pages(kit.connector(SOURCE))
    assert page.sweep == {"a", "b"}  # quarantined, not deleted


async def test_large_csv_streams_in_bounded_pages(kit, tmp_path):
    total = 20_000
    with (tmp_path / "items.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows([f"T-{i}", f"任务 {i}: a longer title like people write", "进行中"] for i in range(total))
    conn = kit.connector(SOURCE)
    stream = conn.streams()[0]
    sizes: list[int] = []
    cursors: list[object] = []
    tracemalloc.start()
    try:
        async for page in stream.read(None):
            sizes.append(len(page.records))
            cursors.append(page.cursor)
            for record in page.records:
                stream.normalize(record)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"20k-row csv: {len(sizes)} pages, peak traced memory {peak / 1e6:.1f} MB")
    assert sum(sizes) == total
    assert max(sizes) <= stream.page_size == 500
    assert all(c is None for c in cursors[:-1]) and cursors[-1] is not None  # cursor only once all is read
    assert peak < 12e6  # holding every raw record at once takes about twice that


async def test_file_rewritten_during_the_read_is_not_committed(kit, tmp_path):
    kit.csv("items.csv", HEADERS, rows(*[f"r{i}" for i in range(1200)]))
    conn = kit.connector(SOURCE)
    pages = conn.streams()[0].read(None)
    first = await anext(pages)
    assert first.cursor is None
    kit.csv("items.csv", HEADERS, rows("only-one-left"))
    with pytest.raises(ConnectorError) as info:
        async for _ in pages:
            pass
    assert info.value.resolution.action is Action.RETRY
    assert "items.csv changed while it was being read" in str(info.value)


async def test_missing_columns_stop_the_stream_with_a_clear_message(kit):
    kit.csv("items.csv", ["id", "name", "state"], rows("a"))
    with pytest.raises(ConnectorError) as info:
        await kit.pages(kit.connector(SOURCE))
    assert str(info.value) == ("items.csv: column(s) title, status not found in header row 1; "
                               "the headers there are: id, name, state")
