"""Operators that start Livepeer work (import, export, transcode, clip) and wait for it; and delete.

Every task-creating operator pushes ``livepeer_task_id`` to XCom right after the create call, before any
waiting (and ``asset_id`` / ``playback_id`` when Livepeer returns them), so a
:class:`~airflow_provider_livepeer.sensors.livepeer.LivepeerTaskSensor` downstream can take
``op.output["livepeer_task_id"]``. With ``wait_for_completion`` (the default) it then waits exactly as the
sensor does and pushes the same XComs.

**An Airflow retry never duplicates Livepeer work.** The operators are durable
(:class:`ResumableJobMixin`): right after the create call the Livepeer task id is saved in Airflow's
``task_state_store``, which outlives the try. A later try of the same task instance reads it back and
asks Livepeer for that task: still pending, waiting or running, the try re-attaches and waits for it;
completed, it only publishes the result; failed, cancelled or gone, it starts new work. Only then does
it create anything. (A Livepeer failure seen while waiting fails the Airflow task without a retry, as
the sensor does; the re-attach serves tries that ended otherwise: a crash, a timeout, a lost worker.)
Livepeer's own answer to a repeated import URL covers imports, not exports, transcodes or clips.
Pass ``durable=False`` to create new work on every try. The ``task_state_store`` arrived in Airflow 3.3:
on older versions every try creates new work, and the task log says so in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator, Context, ResumableJobMixin, conf

from airflow_provider_livepeer.assets import api_host
from airflow_provider_livepeer.create_requests import (
    ClipRequest,
    CreateRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    TranscodeRequest,
    with_request_fields,
)
from airflow_provider_livepeer.exceptions import (
    LivepeerInvalidRequestError,
    LivepeerNotFoundError,
    LivepeerPermissionError,
)
from airflow_provider_livepeer.hooks.livepeer import CLIP_RATE_LIMIT_TIMEOUT, LivepeerHook
from airflow_provider_livepeer.lineage import (
    ipfs_export_dataset,
    livepeer_dataset,
    operator_lineage,
    s3_dataset,
    url_dataset,
)
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink
from airflow_provider_livepeer.models import TERMINAL_PHASES, CreatedWork, TaskPhase, TaskResult
from airflow_provider_livepeer.triggers.watcher import LastSeen
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_3_PLUS, log_reattach_unavailable, xcom_push
from airflow_provider_livepeer.waiting import (
    DEFAULT_TIMEOUT,
    alias_outlets,
    publish_result,
    result_from_event,
    trigger_for,
    wait_for_task,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_livepeer.lineage import Dataset

#: XCom keys pushed right after the create call.
XCOM_LIVEPEER_TASK_ID = "livepeer_task_id"
XCOM_ASSET_ID = "asset_id"
XCOM_PLAYBACK_ID = "playback_id"


class LivepeerTaskOperator(ResumableJobMixin, BaseOperator):
    """Base of the operators that create a Livepeer task and (by default) wait for it.

    :param livepeer_conn_id: the ``livepeer`` connection (templated).
    :param wait_for_completion: wait until the Livepeer task is terminal (default); otherwise return
        after the create call.
    :param poll_interval: seconds between reads of the task while waiting.
    :param timeout: the longest wait, in seconds (default seven days, as sensors).
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param airflow_asset_alias: publish what the task made as an Airflow Asset through
        ``AssetAlias(airflow_asset_alias)`` (see :mod:`airflow_provider_livepeer.assets`).
    :param shared_polling: when deferred, share one list request per interval with every other trigger
        on the connection (default); ``False`` polls this task on its own.
    :param durable: re-attach to the Livepeer task of an earlier try instead of creating new work
        (default ``True``; needs Airflow 3.3).

    A subclass's create parameters are the fields of its :attr:`request_model` (the hook method's
    parameters), kept as attributes of the same names; its ``__init__`` shows them to Airflow
    (:func:`~airflow_provider_livepeer.create_requests.with_request_fields`).
    """

    #: The create call: its fields are the operator's create parameters.
    request_model: ClassVar[type[CreateRequest]]
    external_id_key = XCOM_LIVEPEER_TASK_ID
    operator_extra_links = (LivepeerTaskLink(), LivepeerAssetLink())
    template_fields: Sequence[str] = ("livepeer_conn_id",)
    ui_color = "#2fdc9d"

    def __init__(
        self,
        *,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        wait_for_completion: bool = True,
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_TIMEOUT,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        airflow_asset_alias: str | None = None,
        shared_polling: bool = True,
        durable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        # Kept as given (templates render them later): the hook checks them when the task runs.
        create_arguments = self.request_model.take_arguments(kwargs)
        kwargs = alias_outlets(airflow_asset_alias, kwargs)
        if AIRFLOW_V_3_3_PLUS:
            kwargs["durable"] = durable is not False
        super().__init__(**kwargs)
        #: Whether the DAG asked for the re-attach itself, rather than leaving it at its default.
        self._durable_requested = durable
        self.shared_polling = shared_polling
        self.livepeer_conn_id = livepeer_conn_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self.airflow_asset_alias = airflow_asset_alias
        self._result: TaskResult | None = None
        self._summary: dict[str, Any] | None = None
        #: The asset the create call (or a re-attach's read) named, before the task completes.
        self._made_asset_id: str | None = None
        #: The latest answer about the task (its creation, or a re-attach's read), handed to the trigger.
        self._last_seen: LastSeen | None = None
        for name, value in create_arguments.items():
            setattr(self, name, value)

    @cached_property
    def hook(self) -> LivepeerHook:
        """The hook of the operator's connection."""
        return LivepeerHook(self.livepeer_conn_id)

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Send the create call; the hook checks the arguments first, so bad ones send nothing."""
        send: Callable[..., CreatedWork] = getattr(hook, self.request_model.hook_method)
        return send(**self.request_model.arguments_of(self))

    def execute(self, context: Context) -> Any:
        """Create the work (or re-attach to an earlier try's) and wait for it."""
        log_reattach_unavailable(self.log, self._durable_requested)
        return self.execute_resumable(context)

    # -- ResumableJobMixin ------------------------------------------------------------------------------

    def submit_job(self, context: Context) -> str:
        """Create the Livepeer task and push its ids to XCom."""
        work = self.create(self.hook)
        self._last_seen = LastSeen.of(work)
        self.log.info("Started Livepeer task %s", work.task.id)
        asset = work.asset
        self._push_ids(
            context, work.task.id, asset.id if asset else None, asset.playback_id if asset else None
        )
        return work.task.id

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """Read the task an earlier try created, and push its id again (a new try starts with no XComs)."""
        try:
            task = self.hook.get_task(str(external_id))
        except (LivepeerNotFoundError, LivepeerPermissionError) as err:
            # Gone, or not this connection's account any more: nothing to re-attach to; start anew.
            self.log.warning("Cannot re-attach to Livepeer task %s (%s); starting new work", external_id, err)
            return TaskPhase.FAILED.value
        self._last_seen = LastSeen.of(task)
        self.log.info("An earlier try created Livepeer task %s: %s", task.id, task.describe())
        playback_id = (task.asset_spec or {}).get("playbackId")
        self._push_ids(context, task.id, task.output_asset_id, playback_id)
        return task.phase

    def _push_ids(
        self, context: Context, livepeer_task_id: str, asset_id: str | None, playback_id: str | None
    ) -> None:
        """The XComs and link of a created (or re-attached) task, the same on every try."""
        ti = context["ti"]
        ti.xcom_push(key=XCOM_LIVEPEER_TASK_ID, value=livepeer_task_id)
        self._made_asset_id = asset_id
        if asset_id is not None:
            ti.xcom_push(key=XCOM_ASSET_ID, value=asset_id)
            xcom_push(ti, XCOM_PLAYBACK_ID, playback_id)
        page = LivepeerTaskLink.url(self.hook.base_url, asset_id or self.input_asset_id())
        if page:
            LivepeerTaskLink.persist(context, page)

    def input_asset_id(self) -> str | None:
        """The Livepeer asset the work reads, if any (an export's)."""
        return None

    # -- OpenLineage (called by the OpenLineage provider only; see airflow_provider_livepeer.lineage) ----

    def get_openlineage_facets_on_start(self) -> OperatorLineage[Dataset, Any]:
        """What the work reads, and what it writes where that is known before the create call."""
        return operator_lineage(self.lineage_inputs(), self.lineage_outputs(None))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, Any]:
        """What the work read and wrote."""
        return operator_lineage(self.lineage_inputs(), self.lineage_outputs(self._result))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage[Dataset, Any]:
        """What the work read; of its outputs, only those named before it ran (nothing was made)."""
        return self.get_openlineage_facets_on_start()

    @property
    def api_host(self) -> str:
        """The connection's API host, the authority of ``livepeer://`` datasets."""
        return api_host(self.hook.base_url)

    def lineage_inputs(self) -> list[Dataset]:
        """The OpenLineage datasets the work reads."""
        return []

    def lineage_outputs(self, result: TaskResult | None) -> list[Dataset]:
        """The OpenLineage datasets the work writes: the asset it makes, once known."""
        asset_id = result.output_asset_id if result else self._made_asset_id
        return [livepeer_dataset(self.api_host, f"assets/{asset_id}")] if asset_id else []

    def is_job_active(self, status: str) -> bool:
        """Pending, waiting, running, or a phase this version does not know: worth re-attaching to."""
        return status not in TERMINAL_PHASES

    def is_job_succeeded(self, status: str) -> bool:
        """Completed."""
        return status == TaskPhase.COMPLETED

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait as the sensor does: in this process, or deferred to the triggerer."""
        if not self.wait_for_completion:
            # The mixin returns this on a re-attach: the same summary as a first try's.
            return self.get_job_result(external_id, context)
        if self.deferrable:
            self.defer(
                **trigger_for(
                    str(external_id),
                    self.livepeer_conn_id,
                    self.poll_interval,
                    self.timeout,
                    self.shared_polling,
                    self._last_seen,
                )
            )
        self._result = wait_for_task(
            self.hook, str(external_id), poll_interval=self.poll_interval, timeout=self.timeout, log=self.log
        )
        return self.get_job_result(external_id, context)

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        """Publish the completed task once (XComs, links, Airflow Asset) and return its summary."""
        if not self.wait_for_completion:
            return {XCOM_LIVEPEER_TASK_ID: str(external_id)}
        if self._summary is None:
            result = self._result or self.hook.get_task(str(external_id)).result()
            self._summary = publish_result(context, result, self.hook, self.airflow_asset_alias)
        return self._summary

    def execute_complete(
        self, context: Context, event: Any = None, livepeer_task_id: str | None = None
    ) -> Any:
        """Resume after the trigger fired: validate its event and publish the result.

        :param livepeer_task_id: the task this instance deferred for (``defer``'s kwargs).
        """
        LivepeerTaskLink.stored_before_deferring(context)
        if livepeer_task_id is None:  # deferred by a provider version that did not pass it along
            ti = context["ti"]
            livepeer_task_id = ti.xcom_pull(
                task_ids=self.task_id, key=XCOM_LIVEPEER_TASK_ID, map_indexes=ti.map_index
            )
        self._result = result_from_event(event, str(livepeer_task_id))
        return self.get_job_result(self._result.livepeer_task_id, context)


class LivepeerImportAssetOperator(LivepeerTaskOperator):
    """Import a video from a URL into a new Livepeer asset (``POST /api/asset/upload/url``).

    :param url: where Livepeer fetches the video: ``http(s)://``, ``ipfs://`` or ``ar://`` (templated).
    :param name: the asset's name (templated).
    :param static_mp4: also make MP4 renditions.
    :param playback_policy: e.g. ``{"type": "jwt"}`` (templated).
    :param storage: e.g. ``{"ipfs": True}`` (templated).
    :param profiles: transcode profiles (templated).
    :param creator_id: an unverified creator id, or Livepeer's creator-id object (templated).
    :param encryption: ``{"encryptedKey": ...}`` for an encrypted source (templated).
    :param c2pa: sign the output with C2PA.
    :param target_segment_size_secs: the HLS segment length.

    The other arguments are :class:`LivepeerTaskOperator`'s.
    """

    request_model = ImportAssetRequest
    # Create arguments this class reads itself, typed for mypy as the model types them (a test checks).
    url: str
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "url",
        "name",
        "playback_policy",
        "storage",
        "profiles",
        "creator_id",
        "encryption",
    )

    @with_request_fields(ImportAssetRequest)
    def __init__(self, **kwargs: Any) -> None:
        # Defined for its signature: Airflow reads an operator's parameters from its __init__.
        super().__init__(**kwargs)

    def lineage_inputs(self) -> list[Dataset]:
        """The source URL (``ipfs://`` and ``ar://`` ones by content id)."""
        return [url_dataset(self.url)]


class LivepeerExportAssetOperator(LivepeerTaskOperator):
    """Export a ready asset to IPFS or to a URL of yours (``POST /api/asset/{id}/export``).

    The export task makes no asset: when it completes, its result is in the XCom ``output``
    (e.g. ``output["export"]["ipfs"]["videoFileCid"]``).

    :param asset_id: the asset to export (templated).
    :param ipfs: ``True`` or Livepeer's IPFS export parameters (templated).
    :param custom_url: an http(s) URL the video is sent to instead (templated).
    :param custom_method: the method of that request (Livepeer's default: ``PUT``).
    :param custom_headers: headers of that request (templated).
    """

    request_model = ExportAssetRequest
    # Create arguments this class reads itself, typed for mypy as the model types them (a test checks).
    asset_id: str
    custom_url: str | None
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "asset_id",
        "ipfs",
        "custom_url",
        "custom_headers",
    )

    @with_request_fields(ExportAssetRequest)
    def __init__(self, **kwargs: Any) -> None:
        # Defined for its signature: Airflow reads an operator's parameters from its __init__.
        super().__init__(**kwargs)

    def input_asset_id(self) -> str | None:
        """The exported asset."""
        return self.asset_id

    def lineage_inputs(self) -> list[Dataset]:
        """The exported asset."""
        return [livepeer_dataset(self.api_host, f"assets/{self.asset_id}")]

    def lineage_outputs(self, result: TaskResult | None) -> list[Dataset]:
        """The custom URL, or the file on IPFS once the task names its content id."""
        if self.custom_url:
            return [url_dataset(self.custom_url)]
        exported = ipfs_export_dataset(result.output) if result else None
        return [exported] if exported else []


class LivepeerTranscodeOperator(LivepeerTaskOperator):
    """Transcode a video file into your own storage (``POST /api/transcode``).

    The ``transcode-file`` task makes no Livepeer asset: when it completes, its result is in the XCom
    ``output``, and the files are under ``outputs`` in ``storage``.

    :param input: the source URL, or Livepeer's S3 input object (templated).
    :param storage: Livepeer's ``s3`` or ``web3.storage`` storage object (templated).
    :param outputs: e.g. ``{"hls": {"path": "/out/hls"}, "mp4": {"path": "/out/mp4"}}`` (templated).
    :param profiles: transcode profiles (templated).
    :param target_segment_size_secs: the HLS segment length.
    :param creator_id: an unverified creator id, or Livepeer's creator-id object (templated).
    :param c2pa: sign the output with C2PA.
    """

    request_model = TranscodeRequest
    # Create arguments this class reads itself, typed for mypy as the model types them (a test checks).
    input: str | dict[str, Any]
    storage: dict[str, Any]
    outputs: dict[str, Any]
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "input",
        "storage",
        "outputs",
        "profiles",
        "creator_id",
    )

    @with_request_fields(TranscodeRequest)
    def __init__(self, **kwargs: Any) -> None:
        # Defined for its signature: Airflow reads an operator's parameters from its __init__.
        super().__init__(**kwargs)

    def lineage_inputs(self) -> list[Dataset]:
        """The source: a URL, or an S3 object (``s3://<bucket>`` and its key)."""
        if isinstance(self.input, dict):
            return [s3_dataset(str(self.input.get("bucket")), str(self.input.get("path", "")))]
        return [url_dataset(self.input)]

    def lineage_outputs(self, result: TaskResult | None) -> list[Dataset]:
        """Each output's path in S3 storage (web3.storage ones have no name before Livepeer gives a CID)."""
        if self.storage.get("type") != "s3":
            return []
        bucket = str(self.storage.get("bucket"))
        return [
            s3_dataset(bucket, str(output["path"]))
            for output in self.outputs.values()
            if isinstance(output, dict) and output.get("path")
        ]


class LivepeerClipOperator(LivepeerTaskOperator):
    """Clip a livestream or its recording into a new asset (``POST /api/clip``).

    :param playback_id: the stream's playback id (templated); Livepeer does not clip assets yet.
    :param start_time: the clip's start, Unix milliseconds (templated).
    :param end_time: the clip's end, Unix milliseconds, after ``start_time`` (templated).
    :param name: the clip asset's name (templated).
    :param session_id: the recorded session to clip instead of the live stream (templated).
    :param rate_limit_timeout: seconds to keep retrying Livepeer's clip rate limit (a 403 "Too many
        clips are being processed." that clears within 5 minutes), with backoff; default 330. Other 403s
        fail at once.
    """

    request_model = ClipRequest
    # Create arguments this class reads itself, typed for mypy as the model types them (a test checks).
    playback_id: str
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "playback_id",
        "start_time",
        "end_time",
        "name",
        "session_id",
    )

    @with_request_fields(ClipRequest)
    def __init__(self, *, rate_limit_timeout: float = CLIP_RATE_LIMIT_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate_limit_timeout = rate_limit_timeout

    def lineage_inputs(self) -> list[Dataset]:
        """The clipped stream, by its playback id."""
        return [livepeer_dataset(self.api_host, f"streams/{self.playback_id}")]

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Start the clip; templated times render as strings, so numeric strings are accepted."""
        arguments = ClipRequest.arguments_of(self)
        for name in ("start_time", "end_time"):
            if arguments[name] is not None:
                arguments[name] = _number(arguments[name], f"clip {name}")
        return hook.create_clip(**arguments, rate_limit_timeout=self.rate_limit_timeout)


class LivepeerDeleteAssetOperator(BaseOperator):
    """Delete a Livepeer asset (``DELETE /api/asset/{id}``).

    :param asset_id: the asset (templated), e.g. ``"{{ ti.xcom_pull('wait', key='output_asset_id') }}"``.
    :param livepeer_conn_id: the ``livepeer`` connection (templated).
    :param missing_ok: succeed when the asset is already deleted or gone (404, or 400 "already deleted").
    """

    template_fields: Sequence[str] = ("asset_id", "livepeer_conn_id")
    ui_color = "#2fdc9d"

    def __init__(
        self,
        *,
        asset_id: str,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.asset_id = asset_id
        self.livepeer_conn_id = livepeer_conn_id
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> None:
        """Delete the asset."""
        try:
            LivepeerHook(self.livepeer_conn_id).delete_asset(self.asset_id)
        except (LivepeerNotFoundError, LivepeerInvalidRequestError) as err:
            gone = isinstance(err, LivepeerNotFoundError) or "already deleted" in err.detail
            if not (self.missing_ok and gone):
                raise
            self.log.info("Livepeer asset %s was already gone: %s", self.asset_id, err.detail)
            return
        self.log.info("Deleted Livepeer asset %s", self.asset_id)


def _number(value: float | str, what: str) -> float:
    """A templated time: rendered templates are strings, so ``"1700000000000"`` is accepted too."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"Invalid {what} {value!r}: expected Unix milliseconds, a number.") from None
    return value
