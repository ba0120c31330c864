"""Sending a file's bytes to the URLs of ``POST /api/asset/request-upload``: tus 1.0, or one ``PUT``.

A file larger than one chunk goes through Livepeer's tus endpoint: one ``POST`` creates the upload, then
``PATCH`` requests send it a chunk at a time (:data:`DEFAULT_CHUNK_SIZE`), so at most a chunk of it is in
memory. When a ``PATCH`` gets no answer (a dropped connection, a timeout) or a 5xx, a ``HEAD`` asks the
server how many bytes it kept, and the upload goes on from there: the bytes already sent are never sent
again. Each chunk's tries follow the connection's one retry policy
(:meth:`~airflow_provider_livepeer.http.HttpClient.retry_policy`), so a link that keeps failing without
progress ends the upload with the last error. A file of one chunk or less goes in one ``PUT`` to ``url``,
as Livepeer documents for small files.

The upload URLs carry a token that grants access to the asset: they are never logged nor put in an error
message (only their path is), their tokens are registered with Airflow's secrets masker, and the API key
is never sent to them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin, urlsplit

import requests
from airflow.providers.common.compat.sdk import mask_secret
from tenacity import Retrying

from airflow_provider_livepeer.exceptions import (
    LivepeerApiError,
    LivepeerBadResponseError,
    LivepeerConnectionError,
    connection_error,
    error_for_status,
)
from airflow_provider_livepeer.http import USER_AGENT, ApiRequest, HttpClient, Logger, is_retryable

#: Bytes per ``PATCH``: large enough that loopback throughput is the server's, small enough to hold.
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
#: The least seconds between two progress lines in the task log.
PROGRESS_INTERVAL_S = 5.0
TUS_VERSION = "1.0.0"
_TUS_CONTENT_TYPE = "application/offset+octet-stream"
#: tus answers after which a ``HEAD`` and a resume can succeed: 409, an offset that is not the server's
#: (it kept more or less than the client thought); 423, an earlier request still writing.
_RESUMABLE_STATUSES = frozenset({409, 423})


@dataclass
class UploadReport:
    """What an upload did.

    :param size: the file's size.
    :param bytes_sent: the bytes put on the wire, the file's own and those sent again after a failure.
    :param resumes: how many times the upload asked the server for its offset and went on from there.
    :param tus_location: the tus upload's URL (``None`` for a ``PUT``).
    """

    size: int
    bytes_sent: int = 0
    resumes: int = 0
    tus_location: str | None = None


class Progress:
    """The upload's progress in the task log: bytes, percent, rate; at most every ``interval`` seconds."""

    def __init__(
        self,
        log: Logger,
        size: int,
        start: int = 0,
        interval: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._size = size
        #: The offset this try starts from: the rate counts only the bytes it sends.
        self._start = start
        self._interval = interval
        self._clock = clock
        self._started = self._last = clock()

    def advance(self, offset: int) -> None:
        """The server now holds ``offset`` bytes; log them if the last line is old enough."""
        now = self._clock()
        if offset < self._size and now - self._last < self._interval:
            return
        self._last = now
        rate = (offset - self._start) / max(now - self._started, 1e-6)
        self._log.info(
            "Livepeer upload: %s of %s (%.0f%%), %s/s",
            _mib(offset),
            _mib(self._size),
            100 * offset / self._size,
            _mib(rate),
        )


class Uploader:
    """Sends a file to the upload URLs Livepeer gave, through a connection's HTTP client.

    :param client: the connection's client: its session, TLS and proxy settings, timeouts, retry policy.
    :param log: where progress, resumes and retries are logged.
    :param chunk_size: bytes per ``PATCH``; a file no larger goes in one ``PUT``.
    :param progress_interval: the least seconds between two progress lines.
    """

    def __init__(
        self,
        client: HttpClient,
        log: Logger,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress_interval: float = PROGRESS_INTERVAL_S,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"Invalid upload chunk_size {chunk_size!r}: expected a positive byte count.")
        self._client = client
        self._log = log
        self._chunk_size = chunk_size
        self._progress_interval = progress_interval

    def send(
        self,
        source: IO[bytes],
        size: int,
        *,
        url: str,
        tus_endpoint: str,
        filename: str = "video",
        tus_location: str | None = None,
        on_created: Callable[[str], None] | None = None,
    ) -> UploadReport:
        """Send a file: through tus (:meth:`tus`), or in one ``PUT`` (:meth:`put`) when it fits in a chunk.

        An upload an earlier try began with tus goes on with tus, whatever the size.

        :param source: the file, open for reading, seekable.
        :param size: its size in bytes.
        :param url: the request-upload answer's direct-upload URL.
        :param tus_endpoint: its tus endpoint.
        :param filename: the file's name, in the tus upload's metadata.
        :param tus_location: the tus upload an earlier try made, to go on with.
        :param on_created: called with a new tus upload's URL before its first byte is sent.
        """
        mask_tokens(url, tus_endpoint, tus_location)
        if tus_location is None and size <= self._chunk_size:
            return self.put(url, source, size)
        return self.tus(
            tus_endpoint, source, size, filename=filename, location=tus_location, on_created=on_created
        )

    def put(self, url: str, source: IO[bytes], size: int) -> UploadReport:
        """Send the whole file in one ``PUT`` to ``url``, again from its start after a transient failure."""
        report = UploadReport(size)
        label = _label("PUT", url)
        for attempt in Retrying(**self._client.retry_policy(_UPLOAD, retry_if=is_retryable, label=label)):
            with attempt:
                source.seek(0)
                body = source.read(size)
                report.bytes_sent += len(body)
                self._request("PUT", url, {"Content-Type": "application/octet-stream"}, body)
        Progress(self._log, size, interval=0).advance(size)
        return report

    def tus(
        self,
        endpoint: str,
        source: IO[bytes],
        size: int,
        *,
        filename: str,
        location: str | None = None,
        on_created: Callable[[str], None] | None = None,
    ) -> UploadReport:
        """Send the file through tus: create the upload (or resume ``location``), then chunk by chunk.

        :param endpoint: the ``tusEndpoint`` of the request-upload answer.
        :param source: the file, open for reading, seekable.
        :param size: its size in bytes.
        :param filename: its name, in the upload's metadata.
        :param location: a tus upload an earlier try made: it goes on from the server's offset.
        :param on_created: called with a new upload's URL before any byte is sent (to keep it for a retry).
        :raises LivepeerError: the last error, once a chunk's retries are spent.
        """
        if location is None:
            location = self._create(endpoint, size, filename)
            if on_created is not None:
                on_created(location)
            offset = 0
        else:
            offset = self.offset(location)
            self._log.info("Livepeer upload: resuming an earlier try's upload at byte %d of %d", offset, size)
        report = UploadReport(size, tus_location=location)
        progress = Progress(self._log, size, offset, self._progress_interval)
        while offset < size:
            offset = self._send_chunk(location, source, offset, report)
            progress.advance(offset)
        return report

    def _create(self, endpoint: str, size: int, filename: str) -> str:
        metadata = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in (("filename", filename), ("filetype", "video/*"))
        )
        headers = {"Upload-Length": str(size), "Upload-Metadata": metadata, "Tus-Resumable": TUS_VERSION}
        label = _label("POST", endpoint)
        for attempt in Retrying(**self._client.retry_policy(_UPLOAD, retry_if=is_retryable, label=label)):
            with attempt:
                created = self._request("POST", endpoint, headers).headers.get("Location")
                if not created:
                    raise LivepeerBadResponseError(f"Livepeer answered {label} without the upload's Location")
                return urljoin(endpoint, created)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def offset(self, location: str) -> int:
        """The bytes the server holds (``HEAD``), tried once: the caller's retry loop retries it."""
        answer = self._request("HEAD", location, {"Tus-Resumable": TUS_VERSION})
        return _offset_header(answer.headers, _label("HEAD", location))

    def _send_chunk(self, location: str, source: IO[bytes], offset: int, report: UploadReport) -> int:
        """Send the chunk at ``offset``; after a failure, ask the server's offset and send from there."""
        label = _label("PATCH", location)
        failed = False
        for attempt in Retrying(**self._client.retry_policy(_UPLOAD, retry_if=_resumable, label=label)):
            with attempt:
                if failed:
                    offset = self.offset(location)
                    report.resumes += 1
                    self._log.info("Livepeer upload: resuming at byte %d, where the server stopped", offset)
                failed = True
                if offset >= report.size:
                    return offset
                if source.tell() != offset:
                    source.seek(offset)
                chunk = source.read(min(self._chunk_size, report.size - offset))
                report.bytes_sent += len(chunk)
                headers = {
                    "Upload-Offset": str(offset),
                    "Content-Type": _TUS_CONTENT_TYPE,
                    "Tus-Resumable": TUS_VERSION,
                }
                answer = self._request("PATCH", location, headers, chunk)
                return _offset_header(answer.headers, label)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> requests.Response:
        """One request to an upload URL: no API key, no redirects; an error status raises its error."""
        client, path = self._client, urlsplit(url).path
        try:
            answer = client.session.request(
                method,
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                proxies={"http": client.proxy, "https": client.proxy} if client.proxy else {},
                timeout=(client.connect_timeout, client.read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as err:
            raise _without_token(connection_error(err, _label(method, url)), url) from None
        if answer.status_code >= 400:
            raise error_for_status(answer.status_code, method, path, answer.headers, answer.content)
        return answer


#: What the retry policy is given for an upload's request (its label is the upload URL's path).
_UPLOAD = ApiRequest("POST", "")


def _resumable(error: BaseException) -> bool:
    """Whether a ``PATCH``'s failure is worth a ``HEAD`` and a resume (a ``PATCH`` at an offset is safe)."""
    if isinstance(error, LivepeerApiError) and error.status in _RESUMABLE_STATUSES:
        return True
    return is_retryable(error)


def _offset_header(headers: Mapping[str, str], label: str) -> int:
    value = headers.get("Upload-Offset", "")
    if not value.isdigit():
        raise LivepeerBadResponseError(f"Livepeer answered {label} without a valid Upload-Offset: {value!r}")
    return int(value)


def mask_tokens(*urls: str | None) -> None:
    """Register the upload URLs' queries (their tokens) with Airflow's secrets masker.

    A log line that shows one anyway (urllib3 logs each request's URL at debug level) shows ``***``.
    """
    for url in urls:
        if url and (query := urlsplit(url).query):
            mask_secret(query)


def _label(method: str, url: str) -> str:
    """``METHOD /path`` of an upload URL: its query holds the token."""
    return f"{method} {urlsplit(url).path}"


def _without_token(error: LivepeerConnectionError, url: str) -> LivepeerConnectionError:
    """``requests`` names the URL, token included, in its errors: the query is cut out of the message."""
    query = urlsplit(url).query
    if query:
        error.args = tuple(str(arg).replace(query, "<token>") for arg in error.args)
    return error


def _mib(size: float) -> str:
    return f"{size / 1024**2:.1f} MiB"
