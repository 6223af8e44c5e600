"""Vendor simulators shipped with the test kit, one package per vendor."""
