"""collabhub m365 connector."""
