"""Writers that offer ``deliver_many`` get their deliveries in batches: Microsoft Graph ``$batch``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from collabhub.connector import ConnectorContext
from collabhub.plugins import PluginHost
from collabhub.rules.dispatch import BATCH, Dispatcher
from collabhub.store import OutboxItem, Store
from collabhub.testing.company import generate_company


async def test_graph_event_deliveries_go_out_in_batches_of_twenty(tmp_path):
    host = PluginHost()
    spec = host.simulators().get("m365-demo")
    if spec is None:
        pytest.skip("the m365 plugin is not installed")
    company = generate_company()
    organizer = next(p for p in company.people if p.department == "adm").email
    start = datetime.combine(company.start + timedelta(days=2), time(7, 0), UTC)
    with spec.create(company) as sim:
        cls = host.connector_class("m365")
        connector = cls("m365", cls.Config.model_validate(spec.settings(sim)), ConnectorContext())
        store = Store(f"sqlite:///{tmp_path / 'hub.sqlite'}")
        store.upgrade()
        store.enqueue([
            OutboxItem(idempotency_key=f"ev-{i}", target_connector="m365", channel="event",
                       target={"mailbox": organizer},
                       content={"title": f"协调会 {i}", "start": (start + timedelta(hours=i)).isoformat(),
                                "end": (start + timedelta(hours=i, minutes=30)).isoformat(), "timezone": "UTC",
                                "attendees": []},
                       entity_connector="hub", entity_kind="meeting", entity_external_id=f"m-{i}", entity_version=1)
            for i in range(25)])
        sim.reset_calls()
        try:
            result = await Dispatcher(store).dispatch({"m365": connector})
        finally:
            await connector.aclose()
        assert (result.sent, result.parked, result.retried) == (25, 0, 0), result.errors
        assert sim.count("/v1.0/$batch", method="POST") == 2  # ceil(25 / 20)
        assert BATCH == 20
        assert len({d.target_external_id for d in store.deliveries(limit=100)}) == 25
