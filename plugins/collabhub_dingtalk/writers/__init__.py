"""The DingTalk writers (push channels): ``robot``, ``todo``, ``event``, ``room``."""

from collabhub_dingtalk.writers.calendar import EventWriter, RoomWriter
from collabhub_dingtalk.writers.robot import RobotWindow, RobotWriter
from collabhub_dingtalk.writers.todo import TodoWriter

__all__ = ["WRITERS", "EventWriter", "RobotWindow", "RobotWriter", "RoomWriter", "TodoWriter"]

WRITERS = (RobotWriter, TodoWriter, EventWriter, RoomWriter)
