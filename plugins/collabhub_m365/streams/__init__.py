"""The connector's streams: rooms, events (per mailbox) and room bookings (per room mailbox)."""

from .events import EventsStream
from .rooms import RoomBookingsStream, RoomsStream

__all__ = ["EventsStream", "RoomBookingsStream", "RoomsStream"]
