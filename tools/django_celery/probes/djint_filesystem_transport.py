"""kombu's filesystem transport with whole-file messages: the embedded broker of live verification.

Copied into the verification overlay folder and selected with CELERY_BROKER_TRANSPORT, so the worker,
beat and the client probes (all in the project's interpreter) use it; nothing of the user's changes.

Why: kombu's filesystem transport creates a message file and only then writes into it, while a consumer
lists, moves and reads message files without taking the file lock. A consumer that comes in between
reads an empty or half-written file, fails with a JSON decode error and the message is gone (kombu issue
#1551). On two busy cores that lost about 5 % of 2000 messages, and in `eval run` it showed up as a lost
round-trip task or a garbled `inspect` reply. Here every message is written in a staging folder and
renamed into the queue folder, so a consumer sees a whole file or none; a binding table is created and
rewritten under its lock, and a table that is still being created reads as empty.

Only the standard library and kombu; compatible with old interpreters, like the other probes.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    @property
    def staging_folder(self) -> str:
        """Where a message is written before it is renamed into the queue folder (same file system)."""
        return self.transport_options.get("staging_folder") or self.data_folder_out.rstrip("/\\") + "-staging"

    def _put(self, queue, payload, **kwargs):
        """Write the message beside the queue folder, then rename it in: readers never see it partial."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staged = os.path.join(self.staging_folder, name)
        try:
            os.makedirs(self.staging_folder, exist_ok=True)
            with open(staged, "wb") as message_file:
                message_file.write(str_to_bytes(dumps(payload)))
            os.replace(staged, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _table_file(self, exchange) -> Path:
        """The exchange's binding table; kombu 5.7 validates the name (`_exchange_file`), older kombu not."""
        if hasattr(filesystem.Channel, "_exchange_file"):
            return self._exchange_file(exchange)
        return Path(self.control_folder) / f"{exchange}.exchange"

    def get_table(self, exchange):
        """The exchange's bindings; a table file that another process is still creating has none yet."""
        try:
            return super().get_table(exchange)
        except ValueError:
            return []

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        """Add a binding with the whole read-modify-write under the lock, creation included."""
        table = self._table_file(exchange)
        Path(self.control_folder).mkdir(exist_ok=True)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with table.open("a+b", buffering=0) as table_file:
                filesystem.lock(table_file, filesystem.LOCK_EX)
                try:
                    table_file.seek(0)
                    content = bytes_to_str(table_file.read())
                    bindings = (
                        [filesystem.exchange_queue_t(*row) for row in loads(content)] if content else []
                    )
                    if binding not in bindings:
                        bindings.insert(0, binding)
                        table_file.truncate(0)
                        table_file.write(str_to_bytes(dumps(bindings)))
                finally:
                    filesystem.unlock(table_file)
        except OSError as exc:
            raise ChannelError(f"Cannot open {table}") from exc


class Transport(filesystem.Transport):
    Channel = Channel
