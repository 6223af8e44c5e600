"""collabhub jira connector."""
