"""The Feishu (Lark) simulator, seeded from the sample company."""

from collabhub.testing.sims.feishu.seed import ROOM_APPROVAL, XDEPT_APPROVAL
from collabhub.testing.sims.feishu.simulator import DEMO_APP_ID, FeishuSimulator

__all__ = ["DEMO_APP_ID", "ROOM_APPROVAL", "XDEPT_APPROVAL", "FeishuSimulator"]
