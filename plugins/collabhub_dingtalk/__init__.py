"""collabhub dingtalk connector."""
