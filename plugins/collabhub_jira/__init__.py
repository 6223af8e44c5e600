"""collabhub jira connector: Jira Cloud and Data Center issues in, comments, labels, transitions out."""
