"""Livestreams and their recording sessions, and the rules ``POST /api/clip`` applies to them.

Streams are created and read through Livepeer's own endpoints (``POST /api/stream``, ``GET
/api/stream/{id}``, ``GET /api/stream``). The emulator receives no video, so a test gives a stream a
recording session through the admin API (``POST /_emulator/streams/{id}/sessions``) with the URL of a
real media file standing for what was recorded; a clip of that session is made of that file (probed like
an import), not cut to ``startTime``/``endTime``.

The clip rules follow Livepeer's ``controllers/clip.ts``: the playback id is looked up among streams only
(an asset's, or an unknown one: 404 ``Content not found``); another user's stream is 403; at most
:data:`MAX_CLIPS_PER_REQUESTER` unfinished clip tasks (``pending``, ``waiting`` or ``running``) per
requester (a hash of the caller's address and the playback id) may be scheduled within the rate window,
else 403 ``Too many clips are being processed.``; a ``sessionId`` that is unknown is 404 ``Session not
found``, one of another stream 404; a stream without a recording session is 500 ``Internal server error:
Error`` (the server throws a plain ``Error``, which its error handler names by its class, not its message).
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field

from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.records import new_id, new_playback_id
from livepeer_studio_emulator.shapes import CamelModel

#: How many clip tasks one requester may schedule per playback id within the rate window.
MAX_CLIPS_PER_REQUESTER = 5
#: Livepeer's rate window for clips, in seconds.
CLIP_RATE_WINDOW_S = 300.0
CLIP_RATE_LIMITED = "Too many clips are being processed."


class RecordingSession(CamelModel):
    """A recorded session of a stream; ``recording_url`` is the media file standing for the recording."""

    id: str
    created_ms: int = Field(alias="createdAt")
    recording_url: str


class StreamRecord(CamelModel):
    """A stream as stored. ``body`` holds the payload fields echoed back (``record``, ``profiles``...)."""

    id: str
    user_id: str
    project_id: str
    name: str
    playback_id: str
    stream_key: str
    created_ms: int
    body: dict[str, Any] = Field(default_factory=dict)
    sessions: list[RecordingSession] = Field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The stream as ``GET /api/stream/{id}`` shows it (no session: nothing is ever live)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": "stream",
            "createdAt": self.created_ms,
            "streamKey": self.stream_key,
            "playbackId": self.playback_id,
            "isActive": False,
            "suspended": False,
            "userId": self.user_id,
            "projectId": self.project_id,
            "record": False,
            **self.body,
        }


class Streams:
    """The emulator's streams (not thread-safe by itself: the state's lock guards it)."""

    def __init__(self) -> None:
        self._by_id: dict[str, StreamRecord] = {}

    def create(self, account: Account, name: str, body: dict[str, Any], now_ms: int) -> StreamRecord:
        """A new stream of ``account``."""
        stream_id = new_id()
        stream = StreamRecord(
            id=stream_id,
            user_id=account.user_id,
            project_id=account.project_id,
            name=name,
            playback_id=new_playback_id(),
            stream_key="-".join(new_playback_id()[i : i + 4] for i in (0, 4, 8, 12)),
            created_ms=now_ms,
            body=body,
        )
        self._by_id[stream_id] = stream
        return stream

    def get(self, account: Account, stream_id: str) -> StreamRecord:
        """``GET /api/stream/{id}``: another user's stream is not found, as on Livepeer.

        :raises ApiError: 404.
        """
        stream = self._by_id.get(stream_id)
        if stream is None or stream.user_id != account.user_id:
            raise ApiError(404, "stream not found")
        return stream

    def of(self, account: Account) -> list[StreamRecord]:
        """The account's streams of its project, newest first."""
        return [
            stream
            for stream in reversed(self._by_id.values())
            if stream.user_id == account.user_id and stream.project_id == account.project_id
        ]

    def add_session(self, stream_id: str, recording_url: str, now_ms: int) -> RecordingSession:
        """Give a stream a recording session (admin API).

        :raises KeyError: unknown stream.
        """
        session = RecordingSession(id=new_id(), created_ms=now_ms, recording_url=recording_url)
        self._by_id[stream_id].sessions.append(session)
        return session

    def clip_source(
        self,
        account: Account,
        playback_id: str,
        session_id: str | None,
        recent_clips: int,
    ) -> tuple[StreamRecord, RecordingSession]:
        """The stream and session a clip is made from, checked in the order Livepeer checks them.

        :param recent_clips: unfinished clip tasks this requester scheduled for this playback id in the rate
            window.
        :raises ApiError: 404, 403 or 500 as described in the module docstring.
        """
        stream = next((s for s in self._by_id.values() if s.playback_id == playback_id), None)
        if stream is None:
            raise ApiError(404, "Content not found")
        if stream.user_id != account.user_id:
            raise ApiError(403, "You do not have permission to clip this stream")
        if recent_clips >= MAX_CLIPS_PER_REQUESTER:
            raise ApiError(403, CLIP_RATE_LIMITED)
        if session_id is not None:
            session = next(
                (s for other in self._by_id.values() for s in other.sessions if s.id == session_id), None
            )
            if session is None:
                raise ApiError(404, "Session not found")
            if session not in stream.sessions:
                raise ApiError(404, "The provided session id does not belong to this stream")
            return stream, session
        if not stream.sessions:
            raise ApiError(500, "Internal server error: Error")
        return stream, stream.sessions[-1]

    def all(self) -> list[StreamRecord]:
        """Every stream, oldest first (for the state file)."""
        return list(self._by_id.values())

    def load(self, streams: list[StreamRecord]) -> None:
        """Replace the streams with those of the state file."""
        self._by_id = {stream.id: stream for stream in streams}

    def clear(self) -> None:
        """Forget every stream."""
        self._by_id.clear()


def requester_id(client: str, playback_id: str) -> str:
    """Livepeer's requester id of a clip: a hash of the caller's address and the playback id."""
    return hashlib.sha256(f"{client}:{playback_id}".encode()).hexdigest()[:32]
