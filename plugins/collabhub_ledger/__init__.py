"""Spreadsheet ledger connector (.xlsx and .csv)."""
