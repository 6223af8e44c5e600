"""``RulesEngine``: the rules' entry point for the sync engine (``plan()`` then ``dispatch()``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from collabhub.rules.dispatch import Dispatcher, DispatchResult, RetryPolicy
from collabhub.rules.planner import Planner, PlanResult
from collabhub.rules.ruleset import RuleSet

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.connector import Connector, DeliveryResult
    from collabhub.plugins import PluginHost
    from collabhub.store import OutboxRow, Store

__all__ = ["RulesEngine"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RulesEngine:
    """Compiles the ``sharing:`` rules once, then plans and dispatches deliveries.

    ``clock`` returns the aware "now" (tests move it); a ``ConfigError`` located in the config
    file is raised at construction when a rule is invalid.
    """

    def __init__(self, config: HubConfig, store: Store, *, clock: Callable[[], datetime] = _utc_now,
                 policy: RetryPolicy | None = None, host: PluginHost | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.ruleset = RuleSet.from_config(config)
        on_delivered = None
        if host is not None:
            def on_delivered(row: OutboxRow, made: DeliveryResult) -> None:
                host.delivery_made(channel=row.channel, target_connector=row.target_connector,
                                   idempotency_key=row.idempotency_key, external_id=made.external_id)
        self.dispatcher = Dispatcher(store, clock=clock, policy=policy, on_delivered=on_delivered)

    def planner(self) -> Planner:
        return Planner(self.ruleset, self.store, now=self.clock(), tz=self.config.tz)

    def plan(self) -> PlanResult:
        """Plan deliveries from new changes and the clock; enqueue them and move the checkpoints."""
        return self.planner().plan()

    def preview(self) -> PlanResult:
        """What ``plan()`` would enqueue now, writing nothing."""
        return self.planner().plan(dry_run=True)

    async def dispatch(self, connectors: Mapping[str, Connector], *, limit: int = 500) -> DispatchResult:
        """Push due outbox rows through the connectors' writers."""
        return await self.dispatcher.dispatch(connectors, limit=limit)
