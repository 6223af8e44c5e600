"""The DingTalk streams, in the order a run reads them (directory first: it sets the user scope)."""

from collabhub_dingtalk.streams.approvals import ApprovalBookings, ApprovalTasks
from collabhub_dingtalk.streams.base import DingTalkStream
from collabhub_dingtalk.streams.calendar import Calendars
from collabhub_dingtalk.streams.directory import Departments, Users
from collabhub_dingtalk.streams.rooms import Rooms, RoomSchedules
from collabhub_dingtalk.streams.todos import Todos

__all__ = ["STREAMS", "ApprovalBookings", "ApprovalTasks", "Calendars", "Departments", "DingTalkStream",
           "RoomSchedules", "Rooms", "Todos", "Users"]

STREAMS = (Departments, Users, Rooms, Calendars, RoomSchedules, Todos, ApprovalTasks, ApprovalBookings)
