"""The Livepeer hook: the ``livepeer`` connection and every call to Livepeer Studio's API."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

from tenacity import RetryCallState, Retrying, stop_before_delay

from airflow_provider_livepeer import connection_form
from airflow_provider_livepeer.create_requests import (
    ClipRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    RequestUploadRequest,
    TranscodeRequest,
)
from airflow_provider_livepeer.exceptions import LivepeerError, LivepeerPermissionError
from airflow_provider_livepeer.hooks.webhooks import LivepeerWebhookCalls
from airflow_provider_livepeer.http import (
    ApiRequest,
    ApiResponse,
    HttpClient,
    RetrySettings,
    is_retryable,
    may_have_acted,
)
from airflow_provider_livepeer.models import (
    Asset,
    CreatedWork,
    RequestedUpload,
    Task,
    TaskPage,
    TaskRef,
    parse,
)
from airflow_provider_livepeer.pagination import TaskPages
from airflow_provider_livepeer.uploads import DEFAULT_CHUNK_SIZE, Uploader, mask_tokens
from airflow_provider_livepeer.validation import finite_number, validate_livepeer_id

#: How long :meth:`LivepeerHook.create_clip` keeps retrying Livepeer's clip rate limit by default: the
#: limit (5 clips per requester and playback id in 5 minutes) clears within 5 minutes.
CLIP_RATE_LIMIT_TIMEOUT = 330.0
#: How far back an import whose answer was lost is looked for among the account's upload tasks.
LOST_IMPORT_LOOKBACK_S = 600.0
#: Livepeer's 403 when a requester has scheduled 5 clips of a playback id in the last 5 minutes.
CLIP_RATE_LIMITED = "Too many clips are being processed."


class LivepeerHook(LivepeerWebhookCalls):
    """Calls Livepeer Studio's API with the API key of a ``livepeer`` connection.

    The connection's password is the API key, sent as ``Authorization: Bearer``; its host defaults to
    ``https://livepeer.studio`` and the API lives under ``/api`` (how a connection is read, TLS and proxies
    included: :mod:`~airflow_provider_livepeer.connection`). Every call goes through the connection's
    :class:`~airflow_provider_livepeer.http.HttpClient`, which maps error statuses to
    :mod:`~airflow_provider_livepeer.exceptions` and retries 429, 5xx, timeouts and dropped connections
    with exponential backoff (honouring ``Retry-After``); 400, 401, 403, 404 and 422 are never retried.
    Its webhook calls (``create_webhook``, ``list_webhooks``, ``delete_webhook``) are in
    :class:`~airflow_provider_livepeer.hooks.webhooks.LivepeerWebhookCalls`.
    The synchronous methods use one keep-alive ``requests`` session per hook, the ``a``-prefixed
    coroutines (for triggers) one ``aiohttp`` session; ``with LivepeerHook() as hook:`` and ``async with``
    close what the hook opened (:meth:`~.LivepeerBaseHook.close`, :meth:`~.LivepeerBaseHook.aclose`).

    .. code-block:: python

        from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

        with LivepeerHook() as hook:  # the livepeer_default connection
            for task in hook.list_tasks(max_items=10):
                print(task.id, task.type, task.phase)

    :param livepeer_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param read_timeout: seconds to wait for an answer; defaults to the connection's ``read_timeout``
        extra, else 30.
    :param max_attempts: tries per call for transient failures, the first included.
    :param retry_max_seconds: the longest a call may take, retries and waits included.
    :param backoff_initial: the first wait between tries, in seconds (doubling, with jitter).
    :param backoff_max: the longest single backoff wait; a ``Retry-After`` is honoured up to
        ``retry_max_seconds`` instead.
    """

    # -- tasks ------------------------------------------------------------------------------------------

    def get_task(self, livepeer_task_id: str, *, not_found_until: float | None = None) -> Task:
        """Read one task.

        :param livepeer_task_id: the Livepeer task id.
        :param not_found_until: for a task made moments ago: until this Unix time a 404 is Livepeer's
            read replica not showing it yet, and the read is tried again (with the hook's backoff);
            after it a 404 is final (see :data:`~airflow_provider_livepeer.exceptions.NOT_FOUND_GRACE`).
        :raises ValueError: the id is malformed (nothing is sent).
        :raises LivepeerNotFoundError: no such task.
        """
        response = self._send(_task_request(livepeer_task_id, not_found_until))
        return parse(Task, response.data, response.label, response.answered_at)

    async def aget_task(self, livepeer_task_id: str, *, not_found_until: float | None = None) -> Task:
        """Read one task, asynchronously; see :meth:`get_task`."""
        response = await self._asend(_task_request(livepeer_task_id, not_found_until))
        return parse(Task, response.data, response.label, response.answered_at)

    def list_tasks(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
        max_items: int | None = None,
    ) -> Iterator[Task]:
        """Iterate over the account's tasks, newest first, page by page.

        Pages are fetched as the iterator is consumed, following Livepeer's ``Link: rel="next"`` header,
        and stop at an empty page or at the real server's ``cursor=undefined`` last link.

        :param limit: tasks per page, 1 to 1000.
        :param filters: Livepeer filters, e.g. ``[{"id": "updatedAt", "value": {"gt": 1700000000000}}]``.
        :param order: Livepeer order; ``None`` for the server's default (``updatedAt`` descending).
        :param max_items: stop after this many tasks.
        """
        return itertools.islice(self._tasks(TaskPages(limit, filters, order)), max_items)

    def _tasks(self, pages: TaskPages) -> Iterator[Task]:
        while (request := pages.request()) is not None:
            yield from pages.take(self._send(request)).tasks()

    async def alist_tasks(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
        max_items: int | None = None,
    ) -> AsyncIterator[Task]:
        """Iterate over the account's tasks asynchronously; see :meth:`list_tasks`."""
        left = max_items
        async for page in self.alist_task_pages(limit=limit, filters=filters, order=order):
            for task in page.tasks()[:left]:
                yield task
            left = None if left is None else max(0, left - len(page))
            if left == 0:
                return

    async def alist_task_pages(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
    ) -> AsyncGenerator[TaskPage, None]:
        """Iterate over the pages of the account's tasks asynchronously, each with the server's clock.

        A page's tasks are parsed when asked for (:class:`~airflow_provider_livepeer.models.TaskPage`);
        the next page is requested only when the iteration goes on; see :meth:`list_tasks`.
        """
        pages = TaskPages(limit, filters, order)
        while (request := pages.request()) is not None:
            page = pages.take(await self._asend(request))
            yield page
            del page  # not kept while the next page is awaited

    # -- assets -----------------------------------------------------------------------------------------

    def get_asset(self, asset_id: str, *, not_found_until: float | None = None) -> Asset:
        """Read one asset.

        :param asset_id: the Livepeer asset id.
        :param not_found_until: for an asset made moments ago, as :meth:`get_task`'s.
        :raises ValueError: the id is malformed (nothing is sent).
        :raises LivepeerNotFoundError: no such asset (or one of another project).
        """
        response = self._send(_asset_request("GET", asset_id, not_found_until))
        return parse(Asset, response.data, response.label)

    def delete_asset(self, asset_id: str) -> None:
        """Delete an asset.

        :param asset_id: the Livepeer asset id.
        :raises LivepeerInvalidRequestError: the asset is already deleted.
        """
        self._send(_asset_request("DELETE", asset_id))

    # -- work that creates tasks ----------------------------------------------------------------------

    def import_asset(self, *args: Any, **kwargs: Any) -> CreatedWork:
        """Import a video from a URL (``POST /api/asset/upload/url``).

        Takes the fields of :class:`~airflow_provider_livepeer.create_requests.ImportAssetRequest`:
        ``url`` and ``name`` by position or by name, the others by name.

        When the answer is a 5xx or the connection drops after the request was sent, Livepeer may have
        started the import. Before sending it again the hook looks for the task the first request may
        have made (one list request: the account's newest ``upload`` tasks of the last 10 minutes with
        the same URL) and attaches to it. Livepeer's own dedupe is not enough: it only answers with the
        first import while its asset is still ``waiting`` or ``processing``.

        :returns: the new asset and its task.
        :raises ValueError: the URL or name is invalid (nothing is sent).
        :raises TypeError: an argument the call does not take.
        """
        parameters = ImportAssetRequest.from_call(args, kwargs)
        request, client = parameters.api_request(), self._client()
        # Every transient error is retried, even those after which Livepeer may have started the import:
        # before sending it again after one of those, the import it may have started is looked for.
        acted = False
        for attempt in Retrying(**client.retry_policy(request, retry_if=is_retryable)):
            with attempt:
                if acted and (earlier := self._find_import(client, parameters.url)) is not None:
                    return earlier
                try:
                    return self._created(client.send_once(request))
                except LivepeerError as err:
                    acted = acted or may_have_acted(err)
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _find_import(self, client: HttpClient, url: str) -> CreatedWork | None:
        """The import of ``url`` an earlier request may have started, if the task list shows one.

        Its reads are tried once: a failure of theirs is the import's retry loop's to retry.
        """
        # The lost request left no Date header to go by: the local clock, with a lookback far wider than
        # any plausible skew.
        since_ms = int((time.time() - LOST_IMPORT_LOOKBACK_S) * 1000)
        filters: list[dict[str, Any]] = [
            {"id": "type", "value": "upload"},
            {"id": "createdAt", "value": {"gte": since_ms}},
        ]
        newest = TaskPages(100, filters, "createdAt-true")
        for task in newest.take(client.send_once(newest.first_request())).tasks():
            upload = task.params.get("upload")
            if isinstance(upload, dict) and upload.get("url") == url and task.output_asset_id:
                self.log.warning(
                    "Livepeer import of %s: the answer was lost, attaching to the task it started, %s",
                    url,
                    task.id,
                )
                asset = client.send_once(_asset_request("GET", task.output_asset_id))
                return CreatedWork(task=TaskRef(id=task.id), asset=parse(Asset, asset.data, asset.label))
        return None

    def request_upload(self, *args: Any, **kwargs: Any) -> RequestedUpload:
        """Make a new asset whose bytes are uploaded next (``POST /api/asset/request-upload``).

        Takes the fields of :class:`~airflow_provider_livepeer.create_requests.RequestUploadRequest`
        (``name`` by position too); the task stays ``pending`` until :meth:`uploader` sent the last byte.

        :returns: the asset, its task, and the two upload URLs (``url``, ``tus_endpoint``).
        :raises ValueError: the name is invalid (nothing is sent).
        :raises TypeError: an argument the call does not take.
        """
        response = self._send(RequestUploadRequest.from_call(args, kwargs).api_request())
        requested = parse(RequestedUpload, response.data, response.label, response.answered_at)
        mask_tokens(requested.url, requested.tus_endpoint)
        return requested

    def uploader(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Uploader:
        """What sends a file to the URLs of :meth:`request_upload` (:meth:`.Uploader.send`).

        :param chunk_size: bytes per tus ``PATCH``, held in memory at once; a file no larger goes in one
            ``PUT``.
        """
        return Uploader(self._client(), self.log, chunk_size)

    def export_asset(self, *args: Any, **kwargs: Any) -> CreatedWork:
        """Export an asset to IPFS or to a URL of yours (``POST /api/asset/{id}/export``).

        Takes the fields of :class:`~airflow_provider_livepeer.create_requests.ExportAssetRequest`:
        ``asset_id`` by position or by name, the others by name; exactly one of ``ipfs`` and
        ``custom_url``.

        :returns: the export task.
        :raises ValueError: a bad asset id, neither or both destinations, or a bad URL (nothing is sent).
        :raises TypeError: an argument the call does not take.
        """
        return self._created(self._send(ExportAssetRequest.from_call(args, kwargs).api_request()))

    def transcode(self, *args: Any, **kwargs: Any) -> CreatedWork:
        """Transcode a file into your own storage (``POST /api/transcode``).

        Takes the fields of :class:`~airflow_provider_livepeer.create_requests.TranscodeRequest`:
        ``input``, ``storage`` and ``outputs`` by position or by name, the others by name.

        :returns: the ``transcode-file`` task (it makes no Livepeer asset).
        :raises ValueError: a bad input, storage or outputs (nothing is sent).
        :raises TypeError: an argument the call does not take.
        """
        return self._created(self._send(TranscodeRequest.from_call(args, kwargs).api_request()))

    def create_clip(
        self, *args: Any, rate_limit_timeout: float = CLIP_RATE_LIMIT_TIMEOUT, **kwargs: Any
    ) -> CreatedWork:
        """Clip a livestream or its recording (``POST /api/clip``).

        Takes the fields of :class:`~airflow_provider_livepeer.create_requests.ClipRequest`:
        ``playback_id``, ``start_time`` and ``end_time`` by position or by name, the others by name.

        Livepeer refuses a sixth clip of the same playback id from the same caller within 5 minutes with
        a 403 "Too many clips are being processed."; that 403 clears by itself, so it is retried with
        backoff for up to ``rate_limit_timeout`` seconds. Any other 403 fails at once.

        :param rate_limit_timeout: seconds to keep retrying the clip rate limit (0: fail at once).
        :returns: the clip's asset and task.
        :raises ValueError: a bad playback id, a time that is not a number, or times out of order (nothing
            is sent).
        :raises TypeError: an argument the call does not take.
        """
        request, client = ClipRequest.from_call(args, kwargs).api_request(), self._client()
        rate_limit_timeout = finite_number(rate_limit_timeout, "clip rate_limit_timeout", 0)
        retry_if = lambda error: _is_clip_rate_limited(error) or is_retryable(error, idempotent=False)  # noqa: E731
        stop = _ClipStop(self.retry_settings, rate_limit_timeout)
        for attempt in Retrying(**client.retry_policy(request, retry_if=retry_if, stop=stop)):
            with attempt:
                return self._created(client.send_once(request))
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    @staticmethod
    def _created(response: ApiResponse) -> CreatedWork:
        data, what = response.data, response.label
        # /transcode answers the whole task rather than {task: {id}}.
        if isinstance(data, dict) and "task" not in data and "status" in data:
            data = {"task": {"id": parse(Task, data, what).id}}
        return parse(CreatedWork, data, what, response.answered_at)

    # -- connection form (Airflow before 3.2; later versions read the provider info) ---------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Which standard fields the ``livepeer`` connection form shows, and their labels."""
        return connection_form.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's extra fields (``read_timeout``, ``verify``)."""
        return connection_form.form_widgets()

    # -- connection test ----------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the host and the key with one cheap authenticated call (the newest task)."""
        try:
            self._send(TaskPages(1, None, None).first_request())
        except (LivepeerError, ValueError) as err:
            return False, str(err)
        return True, f"Connected to Livepeer Studio at {self.base_url}"


def _task_request(livepeer_task_id: str, not_found_until: float | None = None) -> ApiRequest:
    path = f"/task/{validate_livepeer_id(livepeer_task_id)}"
    return ApiRequest("GET", path, not_found_until=not_found_until)


def _asset_request(method: str, asset_id: str, not_found_until: float | None = None) -> ApiRequest:
    path = f"/asset/{validate_livepeer_id(asset_id, 'Livepeer asset id')}"
    return ApiRequest(method, path, not_found_until=not_found_until)


class _ClipStop:
    """When a clip stops being retried.

    The rate limit after ``rate_limit_timeout`` seconds; other transient errors as any call's, their tries
    and time counted from the last rate-limited answer.
    """

    def __init__(self, settings: RetrySettings, rate_limit_timeout: float) -> None:
        self._settings = settings
        self._rate_limited = stop_before_delay(rate_limit_timeout)
        #: The attempt number and seconds into the call of the last rate-limited answer.
        self._since_limited = (0, 0.0)

    def __call__(self, state: RetryCallState) -> bool:
        seconds = state.seconds_since_start or 0.0
        if state.outcome is not None and _is_clip_rate_limited(state.outcome.exception()):
            self._since_limited = (state.attempt_number, seconds)
            return bool(self._rate_limited(state))
        attempts, started = self._since_limited
        return (
            state.attempt_number - attempts >= self._settings.max_attempts
            or seconds - started + (state.upcoming_sleep or 0.0) >= self._settings.max_seconds
        )


def _is_clip_rate_limited(error: BaseException | None) -> bool:
    """Whether ``error`` is Livepeer's clip rate limit: a 403 that clears by itself within 5 minutes."""
    return isinstance(error, LivepeerPermissionError) and CLIP_RATE_LIMITED in str(error)
