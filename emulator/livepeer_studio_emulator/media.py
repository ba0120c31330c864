"""Reading import sources for real: fetching, measuring (size, md5, sha256) and probing them.

Only sources on this machine are read: ``file://`` paths and ``http(s)://`` on a loopback address (the
emulator runs without internet access, and a test's source server listens on 127.0.0.1). Everything here
is blocking and runs in the emulator's worker threads, never on the event loop, so a source served by
the same process does not deadlock.

Every source is probed with PyAV (a dependency of the emulator): its container format, duration and
tracks become the ``videoSpec``. A source PyAV cannot read as audio/video fails its task with an
``errorMessage``, as Livepeer fails an import it cannot probe; nothing is ever guessed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx
from pydantic import ConfigDict

from livepeer_studio_emulator.shapes import CamelModel

DEFAULT_MAX_SOURCE_BYTES = 512 * 1024 * 1024
DEFAULT_FETCH_TIMEOUT = 60.0
_CHUNK = 1024 * 1024
_MAX_REDIRECTS = 5


#: Livepeer's task runner's words for a source it could not fetch: it retries such a task.
INACCESSIBLE_MESSAGE = "file could not be imported from URL because it was not accessible"
#: Its words for a file it fetched and could not read as media (not retried).
UNPROBEABLE_MESSAGE = (
    "failed to probe or open file, check your input file against the input codec and container support matrix"
)


class SourceError(Exception):
    """A source or export target that cannot be used; the message names the URL and the reason.

    :param task_message: what the task's ``errorMessage`` says: Livepeer's own words where it has some
        (it rewrites the worker's errors), else the emulator's (for the emulator's own limits).
    """

    def __init__(self, detail: str, task_message: str | None = None) -> None:
        super().__init__(detail)
        self.task_message = task_message or detail

    @classmethod
    def inaccessible(cls, detail: str) -> SourceError:
        """The source could not be fetched (no such file, no answer, an error status, a timeout)."""
        return cls(detail, INACCESSIBLE_MESSAGE)

    @property
    def retried(self) -> bool:
        """Whether Livepeer retries the task: only a source that could not be fetched."""
        return self.task_message == INACCESSIBLE_MESSAGE


class ProbeError(Exception):
    """PyAV could not read a file as media."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on reading a source.

    :param max_bytes: larger sources fail the task.
    :param timeout: seconds for the whole fetch, and for each network wait.
    :param allow_remote: also read http(s) sources on other hosts (off: the emulator has no internet).
    """

    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    timeout: float = DEFAULT_FETCH_TIMEOUT
    allow_remote: bool = False


class MediaInfo(CamelModel):
    """What the emulator learnt about a source."""

    model_config = ConfigDict(frozen=True)

    size: int
    md5: str
    sha256: str
    video_spec: dict[str, Any]

    def hashes(self) -> list[dict[str, str]]:
        """The asset's ``hash`` list, as Livepeer writes it."""
        return [{"hash": self.md5, "algorithm": "md5"}, {"hash": self.sha256, "algorithm": "sha256"}]


def redact_url(url: str) -> str:
    """The URL without a ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_reachable(url: str, limits: FetchLimits, what: str = "fetch") -> None:
    """Fail early, with the reason, for a URL the emulator cannot read.

    :raises SourceError: an unsupported scheme, IPFS/Arweave, or a host off this machine.
    """
    parts = urlsplit(url)
    shown = redact_url(url)
    if parts.scheme in ("ipfs", "ar"):
        raise SourceError(
            f"cannot {what} {shown}: the emulator has no internet access, so it cannot reach IPFS or Arweave"
        )
    if parts.scheme == "file":
        return
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"cannot {what} {shown}: unsupported URL scheme {parts.scheme!r}")
    if not limits.allow_remote and not is_loopback_host(parts.hostname):
        raise SourceError(
            f"cannot {what} {shown}: host {parts.hostname!r} is not on this machine and the emulator has no "
            "internet access (only loopback http(s) and file:// URLs can be read; see allow_remote_sources)"
        )


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(f"cannot read {url}: file:// URLs must name a local path (file:///path)")
    return Path(url2pathname(unquote(parts.path)))


@contextmanager
def open_source(
    url: str, limits: FetchLimits, cancel: threading.Event | None = None
) -> Iterator[Iterator[bytes]]:
    """Open a source and yield an iterator of its bytes, bounded in size and time.

    :raises SourceError: it cannot be read; the message names the URL and the reason.
    """
    check_reachable(url, limits)
    deadline = time.monotonic() + limits.timeout
    shown = redact_url(url)
    timed_out = f"cannot fetch {shown}: timed out after {limits.timeout:g} s"

    def bounded(chunks: Iterator[bytes]) -> Iterator[bytes]:
        total = 0
        for chunk in chunks:
            total += len(chunk)
            if total > limits.max_bytes:
                raise SourceError(
                    f"cannot import {shown}: it is larger than the {_mib(limits.max_bytes)} limit"
                )
            if time.monotonic() > deadline:
                raise SourceError.inaccessible(timed_out)
            if cancel is not None and cancel.is_set():
                raise SourceError(f"cannot fetch {shown}: the emulator is shutting down")
            yield chunk

    if urlsplit(url).scheme == "file":
        path = _file_path(url)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise SourceError.inaccessible(f"cannot read {shown}: no such file {path}") from None
        except IsADirectoryError:
            raise SourceError.inaccessible(f"cannot read {shown}: {path} is a directory") from None
        except OSError as err:
            raise SourceError.inaccessible(f"cannot read {shown}: {err.strerror or err}") from None
        with handle:
            yield bounded(iter(lambda: handle.read(_CHUNK), b""))
        return

    with httpx.Client(timeout=httpx.Timeout(limits.timeout), trust_env=False) as client:
        current = url
        for _ in range(_MAX_REDIRECTS + 1):
            check_reachable(current, limits)
            try:
                response = client.send(client.build_request("GET", current), stream=True)
            except httpx.TimeoutException:
                raise SourceError.inaccessible(timed_out) from None
            except httpx.HTTPError as err:
                raise SourceError.inaccessible(f"cannot fetch {shown}: {type(err).__name__}: {err}") from None
            if response.is_redirect and "location" in response.headers:
                response.close()
                current = urljoin(current, response.headers["location"])
                continue
            break
        else:
            raise SourceError.inaccessible(f"cannot fetch {shown}: more than {_MAX_REDIRECTS} redirects")
        try:
            if not response.is_success:
                raise SourceError.inaccessible(
                    f"cannot fetch {shown}: the server answered HTTP {response.status_code} "
                    f"{response.reason_phrase}".rstrip()
                )
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limits.max_bytes:
                raise SourceError(
                    f"cannot import {shown}: it is larger than the {_mib(limits.max_bytes)} limit"
                )
            try:
                yield bounded(response.iter_raw(_CHUNK))
            except httpx.TimeoutException:
                raise SourceError.inaccessible(timed_out) from None
            except httpx.HTTPError as err:
                raise SourceError.inaccessible(f"cannot fetch {shown}: {type(err).__name__}: {err}") from None
        finally:
            response.close()


def measure(url: str, limits: FetchLimits, cancel: threading.Event | None = None) -> MediaInfo:
    """Fetch a source whole and measure it: size, md5, sha256 and its ``videoSpec`` (probed).

    :raises SourceError: it cannot be read, or it is not audio/video PyAV can read.
    """
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    spool = None
    if urlsplit(url).scheme == "file":
        probe_path = str(_file_path(url))
    else:
        # PyAV wants a seekable file; a fetched source is spooled while it is hashed.
        spool = tempfile.NamedTemporaryFile(prefix="livepeer-emulator-", suffix=".media", delete=False)  # noqa: SIM115
        probe_path = spool.name
    try:
        with open_source(url, limits, cancel) as chunks:
            for chunk in chunks:
                md5.update(chunk)
                sha256.update(chunk)
                size += len(chunk)
                if spool is not None:
                    spool.write(chunk)
        if spool is not None:
            spool.close()
        try:
            spec = probe_file(probe_path)
        except ProbeError as err:
            raise SourceError(f"failed to probe {redact_url(url)}: {err}", UNPROBEABLE_MESSAGE) from None
    finally:
        if spool is not None:
            spool.close()
            os.unlink(spool.name)
    return MediaInfo(size=size, md5=md5.hexdigest(), sha256=sha256.hexdigest(), video_spec=spec)


def send_export(
    source_url: str,
    size: int,
    target_url: str,
    method: str,
    headers: Mapping[str, str],
    limits: FetchLimits,
    cancel: threading.Event | None = None,
) -> None:
    """Send an asset's bytes, read again from its source, to a custom export URL.

    :raises SourceError: the source cannot be read, or the target refused the bytes.
    """
    check_reachable(target_url, limits, what="export to")
    shown = redact_url(target_url)
    with open_source(source_url, limits, cancel) as chunks:
        send_headers = {**headers, "Content-Length": str(size)}
        try:
            with httpx.Client(timeout=httpx.Timeout(limits.timeout), trust_env=False) as client:
                response = client.request(method, target_url, content=chunks, headers=send_headers)
        except httpx.HTTPError as err:
            raise SourceError(f"export to {shown} failed: {type(err).__name__}: {err}") from None
    if not response.is_success:
        raise SourceError(
            f"export to {shown} failed: {method} answered HTTP {response.status_code} "
            f"{response.reason_phrase}".rstrip()
        )


def probe_file(path: str) -> dict[str, Any]:
    """Read a media file's container format, duration and tracks with PyAV, as a Livepeer ``videoSpec``.

    :raises ProbeError: PyAV cannot read the file as audio/video.
    """
    import av

    try:
        container = av.open(path)
    except Exception as err:  # PyAV raises its own error classes, which vary by version
        raise ProbeError(f"PyAV cannot read it as media: {err}") from None
    try:
        names = str(container.format.name).split(",")
        spec: dict[str, Any] = {"format": "mp4" if "mp4" in names else names[0]}
        if container.duration:
            spec["duration"] = round(container.duration / 1_000_000, 6)  # in av.time_base units (us)
        if container.bit_rate:
            spec["bitrate"] = int(container.bit_rate)
        tracks = [track for stream in container.streams if (track := _probe_track(stream)) is not None]
    except ProbeError:
        raise
    except Exception as err:
        raise ProbeError(f"PyAV cannot read it as media: {err}") from None
    finally:
        container.close()
    if not tracks:
        raise ProbeError("PyAV found no audio or video track in it")
    spec["tracks"] = tracks
    return spec


def _probe_track(stream: Any) -> dict[str, Any] | None:
    if stream.type not in ("video", "audio"):
        return None
    ctx = stream.codec_context
    track: dict[str, Any] = {"type": stream.type, "codec": str(ctx.name)}
    time_base = stream.time_base
    if stream.start_time is not None and time_base:
        track["startTime"] = float(stream.start_time * time_base)
    if stream.duration and time_base:
        track["duration"] = float(stream.duration * time_base)
    bitrate = getattr(stream, "bit_rate", None) or getattr(ctx, "bit_rate", None)
    if bitrate:
        track["bitrate"] = int(bitrate)
    if stream.type == "video":
        track["width"], track["height"] = int(ctx.width), int(ctx.height)
        pix_fmt = getattr(ctx, "pix_fmt", None) or getattr(getattr(ctx, "format", None), "name", None)
        if pix_fmt:
            track["pixelFormat"] = str(pix_fmt)
        rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
        if rate:
            track["fps"] = round(float(rate), 3)
    else:
        layout = getattr(ctx, "layout", None)
        channels = getattr(layout, "nb_channels", None) or getattr(ctx, "channels", None)
        if channels:
            track["channels"] = int(channels)
        if getattr(ctx, "sample_rate", None):
            track["sampleRate"] = int(ctx.sample_rate)
    return track


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
