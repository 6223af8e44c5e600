"""A Jira Cloud and Data Center simulator for tests, the demo and the benchmark."""

from collabhub.testing.sims.jira.simulator import BOT_ACCOUNT_ID, JiraSimulator
from collabhub.testing.sims.jira.webhooks import sign

__all__ = ["BOT_ACCOUNT_ID", "JiraSimulator", "sign"]
