"""Operators that start Livepeer work (import, export, transcode, clip) and wait for it; and delete.

Each builds on :class:`~airflow_provider_livepeer.operators.base.LivepeerTaskOperator`, which creates the
work, pushes ``livepeer_task_id`` to XCom at once, waits as the sensor does, and re-attaches a retry to an
earlier try's Livepeer task (see :mod:`airflow_provider_livepeer.operators.base`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, Context

from airflow_provider_livepeer.create_requests import (
    ClipRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    TranscodeRequest,
    with_request_fields,
)
from airflow_provider_livepeer.exceptions import (
    LivepeerInvalidRequestError,
    LivepeerNotFoundError,
)
from airflow_provider_livepeer.hooks.livepeer import CLIP_RATE_LIMIT_TIMEOUT, LivepeerHook
from airflow_provider_livepeer.lineage import (
    ipfs_export_dataset,
    livepeer_dataset,
    s3_dataset,
    url_dataset,
)
from airflow_provider_livepeer.models import CreatedWork, TaskResult
from airflow_provider_livepeer.operators.base import (
    XCOM_ASSET_ID,
    XCOM_LIVEPEER_TASK_ID,
    XCOM_PLAYBACK_ID,
    LivepeerTaskOperator,
)

if TYPE_CHECKING:
    from airflow_provider_livepeer.lineage import Dataset

__all__ = [
    "XCOM_ASSET_ID",
    "XCOM_LIVEPEER_TASK_ID",
    "XCOM_PLAYBACK_ID",
    "LivepeerClipOperator",
    "LivepeerDeleteAssetOperator",
    "LivepeerExportAssetOperator",
    "LivepeerImportAssetOperator",
    "LivepeerTaskOperator",
    "LivepeerTranscodeOperator",
]


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
