"""The ``status_column`` writer: a status text written back into a ledger row.

Neutral payload (see docs/plugins/channels.md): ``target = {"source": <stream name>, "row_id": <id>}``
and ``content = {"status": <text>}``. Without a target, the delivery's entity (one of this
connector's rows) says which sheet and row.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from collabhub.connector import Delivery, DeliveryResult, Writer
from collabhub.errors import DeliveryError
from collabhub_ledger.config import LedgerSource
from collabhub_ledger.files import LedgerFileError
from collabhub_ledger.writeback import RowNotFound, write_status

if TYPE_CHECKING:
    from collabhub_ledger.connector import LedgerConnector

__all__ = ["StatusColumnWriter"]


class StatusColumnWriter(Writer):
    """Writes ``content["status"]`` into the writeback column; writing the same text again changes nothing."""

    channel = "status_column"
    connector: LedgerConnector

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        source, row_id = self._locate(delivery)
        text = delivery.content.get("status")
        if not isinstance(text, str):
            raise DeliveryError(f"status_column delivery {delivery.idempotency_key}: content needs a `status` text, "
                                f"got keys {sorted(delivery.content)}", retryable=False)
        path = source.resolve(self.connector.base_dir)
        try:
            async with self.connector.file_lock(path):
                outcome = await asyncio.to_thread(write_status, path, source, row_id, text)
        except (RowNotFound, LedgerFileError) as exc:
            raise DeliveryError(str(exc), retryable=False,
                                hint="the row or sheet is gone, or the connector's columns changed") from None
        except PermissionError as exc:
            raise DeliveryError(f"{source.path}: cannot write the file ({exc.strerror}); it may be open in "
                                f"another program", retryable=True) from None
        return DeliveryResult(
            external_id=f"{source.stream_name}:{row_id}",
            detail={"file": source.path, "sheet": outcome.sheet, "row": outcome.row, "column": outcome.column,
                    "changed": outcome.changed},
        )

    def _locate(self, delivery: Delivery) -> tuple[LedgerSource, str]:
        connector = self.connector
        stream_name = delivery.target.get("source")
        row_id = delivery.target.get("row_id")
        entity = delivery.entity
        if stream_name is None and entity is not None and entity.source.connector == connector.name:
            stream_name = next((s.stream_name for s in connector.config.sources if s.kind == entity.kind), None)
            row_id = row_id if row_id is not None else entity.source.external_id
        if stream_name is None or row_id is None:
            raise DeliveryError(f"status_column delivery {delivery.idempotency_key}: target needs `source` "
                                f"(a stream name) and `row_id`", retryable=False)
        source = next((s for s in connector.config.sources if s.stream_name == stream_name), None)
        if source is None:
            known = ", ".join(s.stream_name for s in connector.config.sources)
            raise DeliveryError(f"connector {connector.name!r} has no ledger source {stream_name!r}; it has {known}",
                                retryable=False)
        if source.writeback is None:
            raise DeliveryError(f"ledger source {stream_name!r} ({source.path}) has no writeback column",
                                retryable=False, hint="add `writeback: {column: 同步状态}` to the source")
        return source, str(row_id)
