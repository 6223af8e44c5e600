"""End to end over loopback: the simulator pushes an encrypted, signed event to the hub's endpoint,
the hub records it through the real store, and the next engine run re-pulls just that task."""

from __future__ import annotations

from pathlib import Path

from collabhub.engine import HubSink
from collabhub.model import EntityKind
from collabhub.testing.sims.feishu import FeishuSimulator
from collabhub.testing.sims.hub import sim_hub
from collabhub.testing.sims.loopback import serve_app

NAME = "feishu-demo"


async def test_encrypted_event_round_trip_through_the_store(sim: FeishuSimulator, tmp_path: Path) -> None:
    hub = sim_hub(tmp_path, NAME, {"type": "feishu", **sim.connector_settings(), "streams": ["tasks"]})
    store = hub.store
    engine = hub.engine()
    try:
        assert (await engine.run_connector(NAME)).status == "ok"
        guid = next(iter(sim.state.tasks))
        sim.update_task(guid, description="议程已更新 / agenda updated")  # a change the summaries do not show
        app = engine.connector(NAME).webhook_app(HubSink(store))
        with serve_app(app) as url:
            first = sim.push_event(url, "task.task.updated_v1", {"task_id": guid}, event_id="evt-42")
            replay = sim.push_event(url, "task.task.updated_v1", {"task_id": guid}, event_id="evt-42")
            tampered_body, headers = sim.build_push(sim.envelope("task.task.updated_v1", {"task_id": "x"}))
            tampered = sim.deliver(url, tampered_body.replace(b'"}', b'A"}'), headers)
        assert first.status_code == 200 and first.json() == {"msg": "success"}
        assert replay.status_code == 200 and replay.json()["duplicate"] is True
        assert tampered.status_code == 401
        summary = await engine.run_connector(NAME)
        assert summary.status == "ok"
        stored = store.get_entity(NAME, EntityKind.TASK, guid)
        assert stored is not None and stored.entity().description == "议程已更新 / agenda updated"
        assert summary.total("updated") == 1
    finally:
        await engine.aclose()
