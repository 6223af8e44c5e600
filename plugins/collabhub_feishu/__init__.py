"""collabhub feishu connector."""
