"""Operators that start Livepeer work (import, export, transcode, clip) and wait for it; and delete.

Each builds on :class:`~.LivepeerTaskOperator`, which creates the
work, pushes ``livepeer_task_id`` to XCom at once, waits as the sensor does, and re-attaches a retry to an
earlier try's Livepeer task (see :mod:`airflow_provider_livepeer.operators.base`).

An operator's create parameters are the fields of its call's request model
(:mod:`airflow_provider_livepeer.create_requests`), which holds their checks; its ``__init__`` repeats
them, typed as DAGs pass them, because Airflow reads an operator's parameters from its signature, and a
test fails if the two disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, Context

from airflow_provider_livepeer.create_requests import (
    ClipRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    TranscodeRequest,
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
    XCOM_LIVEPEER_TASK_ID,
    XCOM_PLAYBACK_ID,
    LivepeerTaskOperator,
)

if TYPE_CHECKING:
    from airflow_provider_livepeer.lineage import Dataset

__all__ = [
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
    :param target_segment_size_secs: the HLS segment length in seconds (a numeric string too).

    The other arguments are :class:`~.LivepeerTaskOperator`'s.
    """

    request_model = ImportAssetRequest
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

    def __init__(
        self,
        *,
        url: str,
        name: str,
        static_mp4: bool | None = None,
        playback_policy: dict[str, Any] | None = None,
        storage: dict[str, Any] | None = None,
        profiles: list[dict[str, Any]] | None = None,
        creator_id: str | dict[str, Any] | None = None,
        encryption: dict[str, Any] | None = None,
        c2pa: bool | None = None,
        target_segment_size_secs: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.name = name
        self.static_mp4 = static_mp4
        self.playback_policy = playback_policy
        self.storage = storage
        self.profiles = profiles
        self.creator_id = creator_id
        self.encryption = encryption
        self.c2pa = c2pa
        self.target_segment_size_secs = target_segment_size_secs

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Start the import."""
        return hook.import_asset(**self.create_arguments())

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
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "asset_id",
        "ipfs",
        "custom_url",
        "custom_headers",
    )

    def __init__(
        self,
        *,
        asset_id: str,
        ipfs: dict[str, Any] | bool | None = None,
        custom_url: str | None = None,
        custom_method: str | None = None,
        custom_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.asset_id = asset_id
        self.ipfs = ipfs
        self.custom_url = custom_url
        self.custom_method = custom_method
        self.custom_headers = custom_headers

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Start the export."""
        return hook.export_asset(**self.create_arguments())

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
    :param target_segment_size_secs: the HLS segment length in seconds (a numeric string too).
    :param creator_id: an unverified creator id, or Livepeer's creator-id object (templated).
    :param c2pa: sign the output with C2PA.
    """

    request_model = TranscodeRequest
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "input",
        "storage",
        "outputs",
        "profiles",
        "creator_id",
    )

    def __init__(
        self,
        *,
        input: str | dict[str, Any],
        storage: dict[str, Any],
        outputs: dict[str, Any],
        profiles: list[dict[str, Any]] | None = None,
        target_segment_size_secs: float | str | None = None,
        creator_id: str | dict[str, Any] | None = None,
        c2pa: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input = input
        self.storage = storage
        self.outputs = outputs
        self.profiles = profiles
        self.target_segment_size_secs = target_segment_size_secs
        self.creator_id = creator_id
        self.c2pa = c2pa

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Start the transcode."""
        return hook.transcode(**self.create_arguments())

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
    :param start_time: the clip's start, Unix milliseconds: a number or a numeric string (templated).
    :param end_time: the clip's end, Unix milliseconds, after ``start_time``: a number or a numeric
        string (templated).
    :param name: the clip asset's name (templated).
    :param session_id: the recorded session to clip instead of the live stream (templated).
    :param rate_limit_timeout: seconds to keep retrying Livepeer's clip rate limit (a 403 "Too many
        clips are being processed." that clears within 5 minutes), with backoff; default 330. Other 403s
        fail at once.
    """

    request_model = ClipRequest
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "playback_id",
        "start_time",
        "end_time",
        "name",
        "session_id",
    )

    def __init__(
        self,
        *,
        playback_id: str,
        start_time: float | str,
        end_time: float | str | None = None,
        name: str | None = None,
        session_id: str | None = None,
        rate_limit_timeout: float = CLIP_RATE_LIMIT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.playback_id = playback_id
        self.start_time = start_time
        self.end_time = end_time
        self.name = name
        self.session_id = session_id
        self.rate_limit_timeout = rate_limit_timeout

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Start the clip (templated times render as strings: the model takes numeric strings)."""
        return hook.create_clip(**self.create_arguments(), rate_limit_timeout=self.rate_limit_timeout)

    def lineage_inputs(self) -> list[Dataset]:
        """The clipped stream, by its playback id."""
        return [livepeer_dataset(self.api_host, f"streams/{self.playback_id}")]


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

    @cached_property
    def hook(self) -> LivepeerHook:
        """The hook of the operator's connection."""
        return LivepeerHook(self.livepeer_conn_id)

    def execute(self, context: Context) -> None:
        """Delete the asset, and close the hook's session."""
        try:
            with self.hook as hook:
                hook.delete_asset(self.asset_id)
        except (LivepeerNotFoundError, LivepeerInvalidRequestError) as err:
            gone = isinstance(err, LivepeerNotFoundError) or "already deleted" in err.detail
            if not (self.missing_ok and gone):
                raise
            self.log.info("Livepeer asset %s was already gone: %s", self.asset_id, err.detail)
            return
        self.log.info("Deleted Livepeer asset %s", self.asset_id)
