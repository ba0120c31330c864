"""The state file: the emulator's tasks, assets, streams, webhooks and outcome rules as JSON, to resume.

It is read once at start. Writes are debounced: a change marks the state dirty, and a writer thread
saves it at most once per ``interval`` (changes made meanwhile are coalesced into one write), so a long
run does not rewrite the whole file on every change. :meth:`StateFile.close` writes what is pending,
so nothing is lost at a clean stop (the CLI stops cleanly on SIGINT and SIGTERM); a crash loses at most
the last ``interval``. Each write goes to a temporary file renamed over the old one, so a crash never
leaves half a file. API keys are never saved (account ids are derived from them).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from livepeer_studio_emulator.clock import to_ms
from livepeer_studio_emulator.outcomes import OutcomeRule
from livepeer_studio_emulator.records import AssetRecord, TaskRecord
from livepeer_studio_emulator.shapes import CamelModel
from livepeer_studio_emulator.streams import StreamRecord
from livepeer_studio_emulator.webhooks import WebhookRecord

log = logging.getLogger(__name__)

STATE_FORMAT = "livepeer-emulator-state"
STATE_VERSION = 2
#: The default least time between two writes, in seconds.
DEFAULT_SAVE_INTERVAL = 0.2


class SavedState(CamelModel):
    """The state file's content."""

    format: str = STATE_FORMAT
    version: int = STATE_VERSION
    saved_at: int = Field(default_factory=lambda: to_ms(time.time()))
    seq: int = 0
    tasks: list[TaskRecord] = Field(default_factory=list)
    assets: list[AssetRecord] = Field(default_factory=list)
    outcomes: list[OutcomeRule] = Field(default_factory=list)
    streams: list[StreamRecord] = Field(default_factory=list)
    webhooks: list[WebhookRecord] = Field(default_factory=list)

    @staticmethod
    def text(content: dict[str, Any]) -> str:
        """The file's text for ``content``, the :meth:`~.shapes.CamelModel.to_json` of a saved state."""
        return json.dumps(content, separators=(",", ":"))


class StateFile:
    """Loads the state file, and writes it, debounced, after changes.

    :param path: the file.
    :param snapshot: returns the content to write, the :meth:`~.shapes.CamelModel.to_json` of a
        :class:`SavedState` (it takes the state's lock itself, only for as long as copying takes: the
        text is made and written after it lets go; it is never called with the writer's own lock
        held, so a thread holding the state's lock may call :meth:`changed`).
    :param interval: least seconds between two writes.
    """

    def __init__(
        self, path: Path, snapshot: Callable[[], dict[str, Any]], interval: float = DEFAULT_SAVE_INTERVAL
    ) -> None:
        self.path = path
        self.interval = interval
        #: How many times the file was written (tests check that changes are coalesced).
        self.writes = 0
        self._snapshot = snapshot
        self._pending = threading.Condition()
        self._dirty = False
        self._closed = False
        self._writing = threading.Lock()
        self._writer: threading.Thread | None = None

    def load(self) -> SavedState | None:
        """The saved state, or ``None`` when there is no file yet.

        :raises ValueError: the file cannot be read as a state file; the message names it.
        """
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
                raise ValueError(f"not a {STATE_FORMAT} file")
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')} is not {STATE_VERSION}")
            return SavedState.model_validate(data)
        except (OSError, ValueError) as err:
            raise ValueError(f"Cannot load the emulator state file {self.path}: {err}") from err

    def changed(self) -> None:
        """Note a change: it is written within ``interval`` (ignored once closed)."""
        with self._pending:
            if self._closed:
                return
            self._dirty = True
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_when_due, name=f"livepeer-emulator-save-{self.path.name}", daemon=True
                )
                self._writer.start()
            self._pending.notify_all()

    def _write_when_due(self) -> None:
        while True:
            with self._pending:
                self._pending.wait_for(lambda: self._dirty or self._closed)
                # Let the changes of the next interval gather into this write; close() cuts it short.
                if self._closed or self._pending.wait_for(lambda: self._closed, self.interval):
                    return
            try:
                self.flush()
            except OSError:  # e.g. a full disk: say so, and try again after the interval
                log.exception("Cannot write the emulator state file %s", self.path)

    def flush(self) -> None:
        """Write the pending changes now, if any."""
        with self._writing:
            with self._pending:
                if not self._dirty:
                    return
                self._dirty = False
            # One flush at a time (self._writing), so writes of two snapshots never interleave.
            text = SavedState.text(self._snapshot())
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            try:
                tmp.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError:
                with self._pending:
                    self._dirty = True  # still to be written
                raise
            self.writes += 1

    def close(self) -> None:
        """Write what is pending and stop: later changes (e.g. of a job cut short) are not saved."""
        with self._pending:
            self._closed = True
            self._pending.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join()
        self.flush()
