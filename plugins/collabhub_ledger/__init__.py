"""Built-in ``ledger`` connector: tasks, resources and bookings from .xlsx and .csv files."""

from collabhub_ledger.config import LedgerConfig, LedgerSource, Writeback
from collabhub_ledger.connector import LedgerConnector

__all__ = ["LedgerConfig", "LedgerConnector", "LedgerSource", "Writeback"]
