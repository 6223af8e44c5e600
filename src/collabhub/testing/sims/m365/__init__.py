"""A Microsoft 365 simulator: Entra token endpoint and Graph calendars, rooms, batch, subscriptions."""

from collabhub.testing.sims.m365.simulator import ALL_STAFF_GROUP, M365Simulator

__all__ = ["ALL_STAFF_GROUP", "M365Simulator"]
