"""A DingTalk simulator (new API + legacy oapi) seeded from the sample company."""

from collabhub.testing.sims.dingtalk.simulator import APPROVAL_GENERAL, APPROVAL_ROOM, DingTalkSimulator

__all__ = ["APPROVAL_GENERAL", "APPROVAL_ROOM", "DingTalkSimulator"]
