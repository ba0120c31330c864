"""The parameters of the calls that create Livepeer work, declared once: one request model per endpoint.

Each model's fields are the parameters of a create call: the hook's method (``import_asset``,
``export_asset``, ``transcode``, ``create_clip``) builds its request from the model, and the operator that
makes that call takes the same fields as its create parameters (:func:`with_request_fields`). A field's
alias is Livepeer's camelCase name in the request body (Livepeer's schema: ``new-asset-from-url-payload``,
``export-task-params``, ``transcode-payload``, ``clip-payload``).

A model checks what must be right before anything is sent (URLs, names, ids, times, destinations) and
refuses the rest with a :class:`ValueError` naming the bad value and what was expected. The fields
Livepeer checks itself are typed but passed as given (``SkipValidation``): its own 422 stays the one
answer about them, as it names the exact property.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

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

from airflow_provider_livepeer.api import ApiRequest, validate_livepeer_id

_SOURCE_SCHEMES = ("http", "https", "ipfs", "ar")
_TRANSCODE_OUTPUTS = frozenset({"hls", "mp4", "fmp4"})


def _segment_size(value: object) -> float | None:
    return None if value is None else finite_number(value, "target_segment_size_secs", 0.001)


#: An HLS segment length in seconds (a numeric string too, as templates render them).
SegmentSize = Annotated[float | None, BeforeValidator(_segment_size)]


class CreateRequest(BaseModel):
    """The parameters of one create call; a subclass per endpoint."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    #: The :class:`~airflow_provider_livepeer.hooks.livepeer.LivepeerHook` method that sends it.
    hook_method: ClassVar[str]
    #: The endpoint, for fixed paths.
    path: ClassVar[str]

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Self:
        """Check a call's arguments, given by parameter name (other names are left out).

        :raises ValueError: the first invalid argument, named with its value and what was expected.
        """
        try:
            return cls.model_validate(
                {name: arguments[name] for name in cls.model_fields if name in arguments}
            )
        except ValidationError as err:
            raise ValueError(_message(err)) from None

    @classmethod
    def take_arguments(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Take the fields out of an operator's keyword arguments, unchecked; the defaults of those not given.

        :raises TypeError: a required field is missing.
        """
        missing = [
            name for name, field in cls.model_fields.items() if field.is_required() and name not in kwargs
        ]
        if missing:
            raise TypeError(f"missing keyword argument {missing[0]!r}")
        return {name: kwargs.pop(name, field.default) for name, field in cls.model_fields.items()}

    @classmethod
    def arguments_of(cls, holder: object) -> dict[str, Any]:
        """The call's arguments from the attributes of the same names (an operator's)."""
        return {name: getattr(holder, name) for name in cls.model_fields}

    def body(self) -> dict[str, Any]:
        """The JSON body: the given fields under Livepeer's names."""
        return _given(
            {field.alias or name: getattr(self, name) for name, field in type(self).model_fields.items()}
        )

    def api_request(self) -> ApiRequest:
        """The request, never sent twice by the retries of transient errors (it creates work)."""
        return ApiRequest("POST", self.path, body=self.body(), idempotent=False)


class ImportAssetRequest(CreateRequest):
    """``POST /api/asset/upload/url``: import a video from a URL into a new asset."""

    hook_method = "import_asset"
    path = "/asset/upload/url"

    url: str
    name: str
    static_mp4: SkipValidation[bool | None] = None
    playback_policy: SkipValidation[dict[str, Any] | None] = None
    storage: SkipValidation[dict[str, Any] | None] = None
    profiles: SkipValidation[list[dict[str, Any]] | None] = None
    creator_id: SkipValidation[str | dict[str, Any] | None] = None
    encryption: SkipValidation[dict[str, Any] | None] = None
    c2pa: SkipValidation[bool | None] = Field(default=None, alias="c2pa")  # not "c2Pa"
    target_segment_size_secs: SegmentSize = None

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> str:
        return validate_url(value, "import URL")

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"Invalid asset name {value!r}: expected a non-empty string.")
        return value


class ExportAssetRequest(CreateRequest):
    """``POST /api/asset/{id}/export``: export an asset to IPFS or to a URL."""

    hook_method = "export_asset"

    asset_id: str
    ipfs: dict[str, Any] | bool | None = None
    custom_url: str | None = None
    custom_method: SkipValidation[str | None] = None
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
                f"Invalid export ipfs {value!r}: expected True, or Livepeer's IPFS export parameters."
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
                f"(got ipfs={self.ipfs!r}, custom_url={self.custom_url!r})."
            )
        return self

    def body(self) -> dict[str, Any]:
        """``{"custom": {url, method, headers}}`` or ``{"ipfs": {...}}``."""
        if self.custom_url is not None:
            custom = {"url": self.custom_url, "method": self.custom_method, "headers": self.custom_headers}
            return {"custom": _given(custom)}
        return {"ipfs": self.ipfs if isinstance(self.ipfs, dict) else {}}

    def api_request(self) -> ApiRequest:
        """The request to the asset's export endpoint."""
        path = f"/asset/{self.asset_id}/export"
        return ApiRequest("POST", path, body=self.body(), idempotent=False)


class TranscodeRequest(CreateRequest):
    """``POST /api/transcode``: transcode a file into your own storage."""

    hook_method = "transcode"
    path = "/transcode"

    input: str | dict[str, Any]
    storage: dict[str, Any]
    outputs: dict[str, Any]
    profiles: SkipValidation[list[dict[str, Any]] | None] = None
    target_segment_size_secs: SegmentSize = None
    creator_id: SkipValidation[str | dict[str, Any] | None] = None
    c2pa: SkipValidation[bool | None] = Field(default=None, alias="c2pa")  # not "c2Pa"

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: object) -> object:
        if isinstance(value, str):
            return validate_url(value, "transcode input URL")
        if not isinstance(value, dict) or not ("url" in value or value.get("type") == "s3"):
            raise ValueError(f"Invalid transcode input {value!r}: expected a URL, or an S3 input object.")
        if "url" in value:
            validate_url(value["url"], "transcode input URL")
        return value

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: object) -> object:
        if not isinstance(value, dict) or "type" not in value:
            raise ValueError(f"Invalid transcode storage {value!r}: expected an object with a 'type'.")
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

    hook_method = "create_clip"
    path = "/clip"

    playback_id: str
    start_time: float
    end_time: float | None = None
    name: SkipValidation[str | None] = None
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
        what = f"clip {info.field_name}"
        if isinstance(value, str):
            raise ValueError(f"Invalid {what} {value!r}: expected Unix milliseconds, a finite number >= 0.")
        return finite_number(value, what, 0, "Unix milliseconds")

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end_time is not None and self.end_time <= self.start_time:
            raise ValueError(
                f"Invalid clip end_time {_shown(self.end_time)}: "
                f"expected it after start_time {_shown(self.start_time)}."
            )
        return self


#: Every create call's request model.
CREATE_REQUESTS: tuple[type[CreateRequest], ...] = (
    ImportAssetRequest,
    ExportAssetRequest,
    TranscodeRequest,
    ClipRequest,
)

_Init = TypeVar("_Init", bound=Callable[..., None])


def with_request_fields(model: type[CreateRequest]) -> Callable[[_Init], _Init]:
    """Give an operator's ``__init__`` the model's fields as keyword parameters, where Airflow reads them.

    Airflow takes an operator's parameters from its ``__init__`` signature: which are required, which
    ``default_args`` fill, which ``partial()`` and ``expand()`` accept. The ``__init__`` itself takes
    ``**kwargs`` and hands them on; the operator's base class keeps the model's fields as attributes.
    """

    def decorate(init: _Init) -> _Init:
        own = inspect.signature(init)
        fields = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if field.is_required() else field.default,
                annotation=field.annotation,
            )
            for name, field in model.model_fields.items()
        ]
        first, *rest = own.parameters.values()  # self, then the operator's own parameters and **kwargs
        init.__signature__ = own.replace(parameters=[first, *fields, *rest])  # type: ignore[attr-defined]
        return init

    return decorate


def validate_url(value: object, what: str, schemes: tuple[str, ...] = _SOURCE_SCHEMES) -> str:
    """Check a URL Livepeer is asked to read from or write to, before anything is sent.

    :param value: the URL.
    :param what: what the URL is for, for the error message.
    :param schemes: the schemes Livepeer accepts there.
    :returns: the URL without surrounding blanks.
    :raises ValueError: not a string, empty, or not of one of ``schemes``.
    """
    expected = f"a {'/'.join(schemes)} URL such as https://example.com/video.mp4"
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Invalid {what} {value!r}: expected {expected}.")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in schemes or not (parts.netloc or parts.path.strip("/")):
        raise ValueError(f"Invalid {what} {value!r}: expected {expected}.")
    return value.strip()


def finite_number(value: object, what: str, minimum: float, unit: str = "seconds") -> float:
    """A finite number of at least ``minimum`` (a numeric string too, as templates render them).

    :raises ValueError: anything else, naming ``what`` and the value.
    """
    try:
        number = (
            float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        )
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < minimum:
        raise ValueError(f"Invalid {what} {value!r}: expected {unit}, a finite number >= {minimum:g}.")
    return number


def _shown(milliseconds: float) -> str:
    """A time as it was most likely given: whole milliseconds without a fraction."""
    return str(int(milliseconds)) if milliseconds.is_integer() else repr(milliseconds)


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that were given (not ``None``)."""
    return {key: value for key, value in fields.items() if value is not None}


def _message(err: ValidationError) -> str:
    """The first error of a validation, as the validator worded it (or naming the value)."""
    first = err.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    return f"Invalid {where} {first['input']!r}: {first['msg']}."
