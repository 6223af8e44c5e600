"""collabhub: a plugin-based integration hub for cross-department coordination."""

__version__ = "0.1.0"
