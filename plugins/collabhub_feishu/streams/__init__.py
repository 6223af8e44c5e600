"""The Feishu streams, in the order a run reads them (directory first: others use its ids)."""

from collabhub_feishu.streams.approvals import ApprovalsStream
from collabhub_feishu.streams.calendar import EventsStream
from collabhub_feishu.streams.directory import DepartmentsStream, UsersStream
from collabhub_feishu.streams.rooms import RoomFreebusyStream, RoomsStream
from collabhub_feishu.streams.tasks import TasksStream

STREAMS = (DepartmentsStream, UsersStream, RoomsStream, EventsStream, TasksStream, ApprovalsStream,
           RoomFreebusyStream)

__all__ = ["STREAMS", "ApprovalsStream", "DepartmentsStream", "EventsStream", "RoomFreebusyStream",
           "RoomsStream", "TasksStream", "UsersStream"]
