"""The shipped standard connector suite, run against the DingTalk simulator."""

from collabhub.testing.suite import ConnectorSuite

from .conftest import dingtalk_harness


class TestDingTalkStandard(ConnectorSuite, harness=dingtalk_harness):
    pass
