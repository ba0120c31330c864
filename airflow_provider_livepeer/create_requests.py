"""The parameters of the calls that create Livepeer work (and webhooks): one request model per endpoint.

Each model declares its call's parameters once: their names, Livepeer's camelCase name for each in the
request body (the field's alias; Livepeer's schema: ``new-asset-from-url-payload``, ``new-asset-payload``,
``export-task-params``, ``transcode-payload``, ``clip-payload``, ``webhook``), their defaults, their checks
and which the hook's method also takes by position. The hook's methods (``import_asset``,
``request_upload``, ``export_asset``, ``transcode``, ``create_clip``, ``create_webhook``) build their
model from their arguments (:meth:`CreateRequest.from_call`); the operators' ``__init__`` is the one other
copy, a typed signature, because Airflow reads an operator's parameters from it (``default_args``,
templates, ``expand()``); a test fails if it and the model disagree.

A model checks what must be right before anything is sent (URLs, names, ids, times, destinations) and
refuses the rest with a :class:`ValueError` naming the bad value and what was expected; an object that
may hold credentials (an S3 input or storage, IPFS export parameters) is named by its type and keys
alone, never its content. A number may be given as a numeric string too, as templates render it. The
fields Livepeer checks itself are typed but passed as given (``SkipValidation``): its own 422 stays the
one answer about them, as it names the exact property.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from airflow_provider_livepeer.http import ApiRequest
from airflow_provider_livepeer.validation import finite_number, validate_livepeer_id, validate_url

_TRANSCODE_OUTPUTS = frozenset({"hls", "mp4", "fmp4"})


def _segment_size(value: object) -> float | None:
    return None if value is None else finite_number(value, "target_segment_size_secs", 0.001)


#: An HLS segment length in seconds (a numeric string too, as templates render them).
SegmentSize = Annotated[float | None, BeforeValidator(_segment_size)]


def _non_empty(what: str) -> BeforeValidator:
    """The check of a name: a string with more than blanks."""

    def check(value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"Invalid {what} {value!r}: expected a non-empty string.")
        return value

    return BeforeValidator(check)


class CreateRequest(BaseModel):
    """The parameters of one create call; a subclass per endpoint."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    #: The endpoint under ``/api``; ``{name}`` stands for the value of the field ``name``.
    endpoint: ClassVar[str]
    #: The fields the hook's method takes by position too, in their order.
    positional: ClassVar[tuple[str, ...]]

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Self:
        """Check a call's arguments, given by parameter name.

        :raises ValueError: the first invalid argument, named with its value (an object by its keys) and what
            was expected.
        """
        try:
            return cls.model_validate(arguments)
        except ValidationError as err:
            raise ValueError(_message(err)) from None

    @classmethod
    def from_call(cls, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Self:
        """Check the arguments of a hook method call: :attr:`positional` first by position, all by name.

        :raises TypeError: too many positional arguments, one given twice, a name the call does not take, or
            a required one missing.
        :raises ValueError: the first invalid argument, as :meth:`of` names it.
        """
        if len(args) > len(cls.positional):
            raise TypeError(
                f"{cls.__name__} takes at most {len(cls.positional)} arguments by position "
                f"({', '.join(cls.positional)}), got {len(args)}"
            )
        arguments = dict(zip(cls.positional, args, strict=False))
        twice = sorted(arguments.keys() & kwargs.keys())
        arguments.update(kwargs)
        unknown = sorted(arguments.keys() - cls.model_fields.keys())
        missing = [
            name for name, field in cls.model_fields.items() if field.is_required() and name not in arguments
        ]
        if twice or unknown or missing:
            problem = (
                f"{twice[0]!r} given twice"
                if twice
                else f"no parameter {unknown[0]!r}"
                if unknown
                else f"{missing[0]!r} missing"
            )
            raise TypeError(f"{cls.__name__}: {problem}; its parameters: {', '.join(cls.model_fields)}")
        return cls.of(arguments)

    def body(self) -> dict[str, Any]:
        """The JSON body: the given fields under Livepeer's names."""
        return _given(
            {field.alias or name: getattr(self, name) for name, field in type(self).model_fields.items()}
        )

    def path(self) -> str:
        """The endpoint's path, with the fields it names filled in (ids, checked before)."""
        return self.endpoint.format_map(dict(self))

    def api_request(self) -> ApiRequest:
        """The request, never sent twice by the retries of transient errors (it creates work)."""
        return ApiRequest("POST", self.path(), body=self.body(), idempotent=False)


class NewAssetRequest(CreateRequest):
    """The parameters of a new asset (Livepeer's ``new-asset-payload``), shared by imports and uploads."""

    #: The asset's name.
    name: Annotated[str, _non_empty("asset name")]
    #: Also make MP4 renditions.
    static_mp4: SkipValidation[bool | None] = None
    #: E.g. ``{"type": "jwt"}``.
    playback_policy: SkipValidation[dict[str, Any] | None] = None
    #: E.g. ``{"ipfs": True}``.
    storage: SkipValidation[dict[str, Any] | None] = None
    #: Transcode profiles, Livepeer's ``transcode-profile`` objects.
    profiles: SkipValidation[list[dict[str, Any]] | None] = None
    #: An unverified creator id, or Livepeer's creator-id object.
    creator_id: SkipValidation[str | dict[str, Any] | None] = None
    #: ``{"encryptedKey": ...}`` for an encrypted source.
    encryption: SkipValidation[dict[str, Any] | None] = None
    #: Sign the output with C2PA.
    c2pa: SkipValidation[bool | None] = Field(default=None, alias="c2pa")  # not "c2Pa"
    #: The HLS segment length in seconds (a numeric string too).
    target_segment_size_secs: SegmentSize = None


class RequestUploadRequest(NewAssetRequest):
    """``POST /api/asset/request-upload``: a new asset whose bytes are then uploaded (tus or one ``PUT``)."""

    endpoint = "/asset/request-upload"
    positional = ("name",)


class ImportAssetRequest(NewAssetRequest):
    """``POST /api/asset/upload/url``: import a video from a URL into a new asset."""

    endpoint = "/asset/upload/url"
    positional = ("url", "name")

    #: Where Livepeer fetches the video: ``http(s)://``, ``ipfs://`` or ``ar://``.
    url: str

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> str:
        return validate_url(value, "import URL")


class ExportAssetRequest(CreateRequest):
    """``POST /api/asset/{id}/export``: export an asset to IPFS or to a URL."""

    endpoint = "/asset/{asset_id}/export"
    positional = ("asset_id",)

    #: The asset; it must be ``ready``.
    asset_id: str
    #: ``True`` or Livepeer's IPFS export parameters (``{"pinata": {...}}``).
    ipfs: dict[str, Any] | bool | None = None
    #: An http(s) URL the video is sent to instead.
    custom_url: str | None = None
    #: The method of that request (Livepeer's default: ``PUT``).
    custom_method: SkipValidation[str | None] = None
    #: Headers of that request.
    custom_headers: SkipValidation[dict[str, str] | None] = None

    @field_validator("asset_id", mode="before")
    @classmethod
    def _asset_id(cls, value: object) -> str:
        return validate_livepeer_id(value, "Livepeer asset id")

    @field_validator("ipfs", mode="before")
    @classmethod
    def _ipfs(cls, value: object) -> object:
        if value is not None and not isinstance(value, (bool, dict)):
            raise ValueError(
                f"Invalid export ipfs ({_shape(value)}): expected True, or Livepeer's IPFS export parameters."
            )
        return value

    @field_validator("custom_url", mode="before")
    @classmethod
    def _custom_url(cls, value: object) -> str | None:
        return None if value is None else validate_url(value, "export URL", ("http", "https"))

    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        if (self.ipfs in (None, False)) == (self.custom_url is None):
            raise ValueError(
                f"Export of asset {self.asset_id!r} needs exactly one destination: ipfs or custom_url "
                f"(got {'neither' if self.custom_url is None else 'both'})."
            )
        return self

    def body(self) -> dict[str, Any]:
        """``{"custom": {url, method, headers}}`` or ``{"ipfs": {...}}``."""
        if self.custom_url is not None:
            custom = {"url": self.custom_url, "method": self.custom_method, "headers": self.custom_headers}
            return {"custom": _given(custom)}
        return {"ipfs": self.ipfs if isinstance(self.ipfs, dict) else {}}


class TranscodeRequest(CreateRequest):
    """``POST /api/transcode``: transcode a file into your own storage."""

    endpoint = "/transcode"
    positional = ("input", "storage", "outputs")

    #: The source URL, or Livepeer's S3 input object.
    input: str | dict[str, Any]
    #: Where outputs go: Livepeer's ``s3`` or ``web3.storage`` storage object.
    storage: dict[str, Any]
    #: Which outputs, e.g. ``{"hls": {"path": "/out/hls"}, "mp4": {"path": "/out/mp4"}}``.
    outputs: dict[str, Any]
    #: Transcode profiles.
    profiles: SkipValidation[list[dict[str, Any]] | None] = None
    #: The HLS segment length in seconds (a numeric string too).
    target_segment_size_secs: SegmentSize = None
    #: An unverified creator id, or Livepeer's creator-id object.
    creator_id: SkipValidation[str | dict[str, Any] | None] = None
    #: Sign the output with C2PA.
    c2pa: SkipValidation[bool | None] = Field(default=None, alias="c2pa")  # not "c2Pa"

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: object) -> object:
        if isinstance(value, str):
            return validate_url(value, "transcode input URL")
        if not isinstance(value, dict) or not ("url" in value or value.get("type") == "s3"):
            raise ValueError(
                f"Invalid transcode input ({_shape(value)}): expected a URL, or an S3 input object."
            )
        if "url" in value:
            validate_url(value["url"], "transcode input URL")
        return value

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: object) -> object:
        if not isinstance(value, dict) or "type" not in value:
            raise ValueError(
                f"Invalid transcode storage ({_shape(value)}): expected an object with a 'type'."
            )
        return value

    @field_validator("outputs", mode="before")
    @classmethod
    def _outputs(cls, value: object) -> object:
        if not isinstance(value, dict) or not value or not set(value) <= _TRANSCODE_OUTPUTS:
            raise ValueError(f"Invalid transcode outputs {value!r}: expected some of hls, mp4, fmp4.")
        return value

    def body(self) -> dict[str, Any]:
        """The body, with a URL input as Livepeer's ``{"url": ...}`` object."""
        body = super().body()
        if isinstance(self.input, str):
            body["input"] = {"url": self.input}
        return body


class ClipRequest(CreateRequest):
    """``POST /api/clip``: clip a livestream or its recording into a new asset."""

    endpoint = "/clip"
    positional = ("playback_id", "start_time", "end_time")

    #: The stream's playback id (Livepeer does not clip assets yet).
    playback_id: str
    #: The clip's start, Unix milliseconds (a numeric string too).
    start_time: float
    #: The clip's end, Unix milliseconds (a numeric string too), after ``start_time``.
    end_time: float | None = None
    #: The clip asset's name.
    name: SkipValidation[str | None] = None
    #: The recorded session to clip, instead of the live stream.
    session_id: SkipValidation[str | None] = None

    @field_validator("playback_id", mode="before")
    @classmethod
    def _playback_id(cls, value: object) -> str:
        return validate_livepeer_id(value, "Livepeer playback id")

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _time(cls, value: object, info: ValidationInfo) -> float | None:
        if value is None and info.field_name == "end_time":
            return None
        return finite_number(value, f"clip {info.field_name}", 0, "Unix milliseconds")

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end_time is not None and self.end_time <= self.start_time:
            raise ValueError(
                f"Invalid clip end_time {_shown(self.end_time)}: "
                f"expected it after start_time {_shown(self.start_time)}."
            )
        return self


class CreateWebhookRequest(CreateRequest):
    """``POST /api/webhook``: Livepeer calls ``url`` with ``events``, signed with ``shared_secret``."""

    endpoint = "/webhook"
    positional = ("name", "url", "events")

    #: The webhook's name.
    name: Annotated[str, _non_empty("webhook name")]
    #: Where Livepeer sends the events: a public http(s) URL (Livepeer never calls a local address).
    url: str
    #: Livepeer's event names, e.g. ``["task.completed", "asset.ready"]``.
    events: list[str]
    #: The secret Livepeer signs each call with (``Livepeer-Signature``); without it calls are unsigned,
    #: and the provider's receiver refuses them. Never shown: not in ``repr``, nor in any error.
    shared_secret: str | None = Field(default=None, repr=False)
    #: Only the events of this stream (stream events).
    stream_id: SkipValidation[str | None] = None

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> str:
        return validate_url(value, "webhook URL", ("http", "https"))

    @field_validator("events", mode="before")
    @classmethod
    def _events(cls, value: object) -> object:
        if (
            not isinstance(value, (list, tuple))
            or not value
            or not all(isinstance(e, str) and e for e in value)
        ):
            raise ValueError(
                f"Invalid webhook events {value!r}: expected a non-empty list of Livepeer event names "
                "such as 'task.completed'."
            )
        return list(value)

    @field_validator("shared_secret", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"Invalid webhook shared_secret ({_shape(value)}): expected a non-empty string.")
        return value


def _shown(milliseconds: float) -> str:
    """A time as it was most likely given: whole milliseconds without a fraction."""
    return str(int(milliseconds)) if milliseconds.is_integer() else repr(milliseconds)


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that were given (not ``None``)."""
    return {key: value for key, value in fields.items() if value is not None}


def _shape(value: object) -> str:
    """What a value is, never what it holds (it may be credentials): its type, an object's keys."""
    if not isinstance(value, dict):
        name = type(value).__name__
        return "None" if value is None else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
    kind = f" of type {value['type']!r}" if isinstance(value.get("type"), str) else ""
    return f"an object{kind} with keys {', '.join(map(repr, value))}" if value else "an empty object"


def _message(err: ValidationError) -> str:
    """The first error of a validation, as the validator worded it (or naming the value's shape)."""
    first = err.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    return f"Invalid {where} ({_shape(first['input'])}): {first['msg']}."
