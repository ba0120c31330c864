"""Request bodies of the emulated endpoints, checked like Livepeer's JSON-schema validation (422).

The models follow the OpenAPI schemas ``new-asset-from-url-payload``, ``export-task-params``,
``transcode-payload`` and ``clip-payload``: unknown keys and wrong types are refused. One emulator
extension: import and transcode URLs may also be ``file://`` paths, so demos and tests can import local
files.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.validation import validation_messages

SourceUrl = Annotated[str, StringConstraints(pattern=r"^(https?|ipfs|ar|file)://")]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^http(s)?://")]


def _whole_number(value: Any) -> Any:
    # Livepeer's JSON-schema validator takes 3000000.0 where the schema says integer (JSON has one
    # number type); a fraction still fails as not an integer.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer field: whole-number floats are accepted, as Livepeer's validator does.
Integer = Annotated[int, BeforeValidator(_whole_number)]


class _Payload(BaseModel):
    # strict: JSON schema does not turn "3" into 3 or 1 into "1", so neither does the emulator.
    model_config = ConfigDict(extra="forbid", strict=True)


class TranscodeProfile(_Payload):
    """``transcode-profile``."""

    bitrate: Annotated[Integer, Field(ge=400)]
    width: Annotated[Integer, Field(ge=128)] | None = None
    height: Annotated[Integer, Field(ge=128)] | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    quality: Annotated[Integer, Field(ge=0, le=44)] | None = None
    fps: Annotated[Integer, Field(ge=0)] | None = None
    fpsDen: Annotated[Integer, Field(ge=1)] | None = None
    gop: str | None = None
    profile: Literal["H264Baseline", "H264Main", "H264High", "H264ConstrainedHigh"] | None = None
    encoder: Literal["H.264", "HEVC", "VP8", "VP9"] | None = None


class PlaybackPolicy(_Payload):
    """``playback-policy``."""

    type: Literal["public", "jwt", "webhook"]
    webhookId: str | None = None
    webhookContext: dict[str, Any] | None = None
    refreshInterval: float | None = None
    allowedOrigins: list[str] | None = None


class UnverifiedCreatorId(_Payload):
    """``input-creator-id`` in its object form."""

    type: Literal["unverified"]
    value: str


class IpfsSpec(_Payload):
    """The IPFS export spec of an asset's storage."""

    nftMetadataTemplate: Literal["file", "player"] | None = None
    nftMetadata: dict[str, Any] | None = None


class IpfsStorage(_Payload):
    """``storage.ipfs`` in its object form."""

    spec: IpfsSpec | None = None


class NewAssetStorage(_Payload):
    """``new-asset-payload.storage``."""

    ipfs: IpfsStorage | bool | None = None


class Encryption(_Payload):
    """``new-asset-payload.encryption``."""

    encryptedKey: str


#: ``catalystPipelineStrategy``: only an admin's or a test user's is used; Livepeer drops anyone else's.
PipelineStrategy = Literal[
    "catalyst", "catalyst_ffmpeg", "background_external", "background_mist", "fallback_external", "external"
]


class NewAssetPayload(_Payload):
    """``new-asset-payload`` (``POST /api/asset/request-upload``): a new asset whose bytes are uploaded.

    With the server's own additions (``db-schema.yaml``): ``objectStoreId`` (write-only: never shown
    back) and ``catalystPipelineStrategy``.
    """

    name: str
    staticMp4: bool | None = None
    playbackPolicy: PlaybackPolicy | None = None
    creatorId: UnverifiedCreatorId | str | None = None
    storage: NewAssetStorage | None = None
    encryption: Encryption | None = None
    c2pa: bool | None = None
    profiles: list[TranscodeProfile] | None = None
    targetSegmentSizeSecs: float | None = None
    objectStoreId: str | None = None
    catalystPipelineStrategy: PipelineStrategy | None = None


class NewAssetFromUrl(NewAssetPayload):
    """``new-asset-from-url-payload`` (``POST /api/asset/upload/url``): the same, imported from ``url``."""

    url: SourceUrl


class CustomExport(_Payload):
    """``export-task-params.custom``."""

    url: HttpUrl
    method: str = "PUT"
    headers: dict[str, str] = Field(default_factory=dict)


class CustomExportParams(_Payload):
    """``export-task-params`` with a custom URL."""

    custom: CustomExport


class PinataJwt(_Payload):
    """Piñata credentials as a JWT."""

    jwt: str


class PinataKey(_Payload):
    """Piñata credentials as a key and secret."""

    apiKey: str
    apiSecret: str


class IpfsExport(_Payload):
    """``ipfs-export-params``."""

    nftMetadataTemplate: Literal["file", "player"] | None = None
    nftMetadata: dict[str, Any] | None = None
    pinata: PinataJwt | PinataKey | None = None


class IpfsExportParams(_Payload):
    """``export-task-params`` to IPFS."""

    ipfs: IpfsExport


ExportParams = CustomExportParams | IpfsExportParams


class S3Credentials(_Payload):
    """S3 credentials."""

    accessKeyId: str
    secretAccessKey: str


class UrlInput(_Payload):
    """A transcode input given by URL."""

    url: SourceUrl


class S3Input(_Payload):
    """A transcode input in an S3-like bucket."""

    type: Literal["s3"]
    endpoint: HttpUrl
    bucket: str
    path: str
    credentials: S3Credentials


class S3Storage(_Payload):
    """Transcode output storage in an S3-like bucket."""

    type: Literal["s3"]
    endpoint: HttpUrl
    bucket: str
    credentials: S3Credentials


class Web3Credentials(_Payload):
    """web3.storage delegation proof."""

    proof: str


class Web3Storage(_Payload):
    """Transcode output storage on web3.storage."""

    type: Literal["web3.storage"]
    credentials: Web3Credentials


class OutputPath(_Payload):
    """Where one output format goes."""

    path: str


class TranscodeOutputs(_Payload):
    """``transcode-payload.outputs``."""

    hls: OutputPath | None = None
    mp4: OutputPath | None = None
    fmp4: OutputPath | None = None


class TranscodePayload(_Payload):
    """``transcode-payload`` (``POST /api/transcode``)."""

    input: UrlInput | S3Input
    storage: S3Storage | Web3Storage
    outputs: TranscodeOutputs
    profiles: list[TranscodeProfile] | None = None
    targetSegmentSizeSecs: float | None = None
    creatorId: UnverifiedCreatorId | str | None = None
    c2pa: bool | None = None


class NewStreamPayload(_Payload):
    """``new-stream-payload`` (``POST /api/stream``); the emulator echoes what it does not model."""

    name: str
    pull: dict[str, Any] | None = None
    creatorId: UnverifiedCreatorId | str | None = None
    playbackPolicy: PlaybackPolicy | None = None
    profiles: list[dict[str, Any]] | None = None
    record: bool | None = None
    recordingSpec: dict[str, Any] | None = None
    multistream: dict[str, Any] | None = None
    userTags: dict[str, Any] | None = None


class ClipPayload(_Payload):
    """``clip-payload`` (``POST /api/clip``)."""

    playbackId: str
    startTime: float
    endTime: float | None = None
    name: str | None = None
    sessionId: str | None = None


WebhookEventName = Literal[
    "stream.started",
    "stream.detection",
    "stream.idle",
    "recording.ready",
    "recording.started",
    "recording.waiting",
    "multistream.connected",
    "multistream.error",
    "multistream.disconnected",
    "playback.user.new",
    "playback.accessControl",
    "asset.created",
    "asset.updated",
    "asset.failed",
    "asset.ready",
    "asset.deleted",
    "task.spawned",
    "task.updated",
    "task.completed",
    "task.failed",
]


class WebhookPayload(_Payload):
    """``webhook`` (``POST /api/webhook``, ``PUT /api/webhook/{id}``); read-only fields are refused."""

    name: str
    url: HttpUrl
    events: list[WebhookEventName] | None = None
    sharedSecret: str | None = None
    streamId: str | None = None
    projectId: str | None = None


def parse_body(raw: bytes, model: Any) -> Any:
    """Decode and validate a JSON body.

    :param raw: the request body.
    :param model: a payload model, or a union of them (``ExportParams``).
    :raises ApiError: 422 whose messages are the validator's error objects, each as a JSON string, as
        Livepeer sends them (see :mod:`.validation`).
    """
    try:
        data = json.loads(raw or b"null")
    except ValueError as err:
        raise ApiError(422, f"request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(422, f"request body must be a JSON object, not {type(data).__name__}")
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as err:
        raise ApiError(422, *validation_messages(err)) from None


def dump(model: BaseModel) -> dict[str, Any]:
    """A payload as JSON, without the fields the client left out."""
    return model.model_dump(mode="json", exclude_none=True)
