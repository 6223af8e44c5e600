"""collabhub m365 connector: Microsoft 365 calendars, rooms and bookings through Microsoft Graph."""
