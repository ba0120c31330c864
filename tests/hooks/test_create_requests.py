"""Each create call's parameters agree between its request model and its operator.

The request model declares each parameter once (name, Livepeer's alias, default, checks, which ones the
hook method takes by position); the hook method builds the model from its arguments, and the operator's
``__init__`` repeats the fields as a typed signature, for Airflow. These tests fail when that copy drifts:

* names: the operator's own ``__init__`` takes exactly the model's fields (plus options of the call itself,
  such as the clip's ``rate_limit_timeout``), keyword-only;
* defaults and required-ness: equal in both (a required field has no default anywhere);
* types: the operator's type is the model's field type, except that a number field also takes ``str``,
  because templates render numbers as strings; the model turns a numeric string into the number (checked
  here too).
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import yaml
from airflow.providers.common.compat.sdk import DAG, AirflowException
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.create_requests import (
    ClipRequest,
    CreateRequest,
    CreateWebhookRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    RequestUploadRequest,
    TranscodeRequest,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators import livepeer as operators
from airflow_provider_livepeer.operators import upload as upload_operators
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTaskOperator,
    LivepeerTranscodeOperator,
)
from airflow_provider_livepeer.operators.upload import LivepeerUploadOperator
from tests.support.project import shared_file

S3 = {"type": "s3", "endpoint": "https://s3.example.com", "bucket": "b", "credentials": {}}
# An answer every create call takes (request-upload's has the upload URLs too).
CREATED = {
    "asset": {"id": "a1", "playbackId": "p1"},
    "task": {"id": "t1"},
    "url": "https://origin.example.com/api/asset/upload/direct?token=t",
    "tusEndpoint": "https://origin.example.com/api/asset/upload/tus?token=t",
}


class CreateCall(typing.NamedTuple):
    operator: type[LivepeerTaskOperator]
    hook_method: Callable[..., Any]
    model: type[CreateRequest]
    #: Parameters of the call that are not fields of its request.
    options: frozenset[str]
    #: Arguments the model accepts, to vary one field at a time.
    valid: dict[str, Any]

    def __str__(self) -> str:
        return self.operator.__name__


CREATE_CALLS = [
    CreateCall(
        LivepeerImportAssetOperator,
        LivepeerHook.import_asset,
        ImportAssetRequest,
        frozenset(),
        {"url": "https://example.com/v.mp4", "name": "n"},
    ),
    CreateCall(
        LivepeerExportAssetOperator,
        LivepeerHook.export_asset,
        ExportAssetRequest,
        frozenset(),
        {"asset_id": "a1", "ipfs": True},
    ),
    CreateCall(
        LivepeerTranscodeOperator,
        LivepeerHook.transcode,
        TranscodeRequest,
        frozenset(),
        {"input": "https://example.com/v.mp4", "storage": S3, "outputs": {"hls": {"path": "/h"}}},
    ),
    CreateCall(
        LivepeerClipOperator,
        LivepeerHook.create_clip,
        ClipRequest,
        frozenset({"rate_limit_timeout"}),
        {"playback_id": "pb1", "start_time": 1},
    ),
    CreateCall(
        LivepeerUploadOperator,
        LivepeerHook.request_upload,
        RequestUploadRequest,
        frozenset({"source", "chunk_size"}),
        {"name": "n"},
    ),
]


def parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """A function's parameters, ``self`` and ``**kwargs`` left out."""
    return {
        name: parameter
        for name, parameter in inspect.signature(function).parameters.items()
        if name != "self" and parameter.kind is not inspect.Parameter.VAR_KEYWORD
    }


def default_of(model: type[CreateRequest], name: str) -> Any:
    field = model.model_fields[name]
    return inspect.Parameter.empty if field.is_required() else field.default


def is_number(annotation: Any) -> bool:
    return annotation is float or float in typing.get_args(annotation)


def concrete_models(model: type[CreateRequest]) -> set[type[CreateRequest]]:
    """The request models of endpoints among ``model``'s subclasses (not the bases they share)."""
    below = {found for sub in model.__subclasses__() for found in concrete_models(sub)}
    return below | ({model} if "endpoint" in vars(model) else set())


def test_every_create_operator_and_every_request_model_is_checked() -> None:
    creating = {
        value
        for module in (operators, upload_operators)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, LivepeerTaskOperator)
        and value is not LivepeerTaskOperator
    }
    assert {call.operator for call in CREATE_CALLS} == creating
    # A webhook is no Livepeer work, and no operator makes one (tests/hooks/test_webhook_calls.py).
    assert {call.model for call in CREATE_CALLS} == concrete_models(CreateRequest) - {CreateWebhookRequest}


@pytest.mark.parametrize("call", CREATE_CALLS, ids=str)
def test_operator_takes_the_model_fields_with_their_defaults_and_types(call: CreateCall) -> None:
    own = parameters(call.operator.__init__)
    base = parameters(LivepeerTaskOperator.__init__)
    assert call.operator.request_model is call.model
    assert set(own) == set(call.model.model_fields) | call.options, call.operator.__name__
    assert not set(own) & set(base)
    hints = typing.get_type_hints(call.operator.__init__)
    for name, field in call.model.model_fields.items():
        assert own[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert own[name].default == default_of(call.model, name), name
        if is_number(field.annotation):
            assert hints[name] == field.annotation | str, f"{name}: a number takes a numeric string too"
            assert getattr(call.model.of({**call.valid, name: "5"}), name) == 5.0, name
        else:
            assert hints[name] == field.annotation, name
    # Airflow reads the class's signature: it shows the same parameters.
    assert set(own) <= set(inspect.signature(call.operator).parameters)


@pytest.mark.parametrize("call", CREATE_CALLS, ids=str)
def test_the_hook_method_takes_the_first_fields_by_position_and_every_field_by_name(
    httpserver: HTTPServer, hook: LivepeerHook, call: CreateCall
) -> None:
    assert set(call.model.positional) <= set(call.model.model_fields)
    assert set(call.model.positional) >= set(call.valid) - {"ipfs"}  # the required ones, at least
    request = call.model.of(call.valid)
    httpserver.expect_request(f"/api{request.path()}", method="POST").respond_with_json(CREATED)
    by_position = [call.valid[name] for name in call.model.positional if name in call.valid]
    by_name = {name: value for name, value in call.valid.items() if name not in call.model.positional}
    call.hook_method(hook, *by_position, **by_name)
    call.hook_method(hook, **call.valid)
    assert [json.loads(sent.data) for sent, _ in httpserver.log] == [request.body()] * 2


VIDEO = "https://example.com/v.mp4"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((VIDEO, "n", True), {}, "at most 2 arguments by position (url, name), got 3"),
        ((VIDEO,), {"url": VIDEO, "name": "n"}, "'url' given twice"),
        ((VIDEO, "n"), {"static_mp5": True}, "no parameter 'static_mp5'"),
        ((), {"url": VIDEO}, "'name' missing"),
    ],
    ids=["too-many-positional", "twice", "unknown-name", "missing"],
)
def test_a_hook_call_with_arguments_it_does_not_take_is_a_type_error(
    httpserver: HTTPServer, hook: LivepeerHook, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        hook.import_asset(*args, **kwargs)
    assert httpserver.log == []


SECRET = "s3cr3t-DO-NOT-LEAK"
#: An S3 object's credentials, and a Pinata JWT: what an error about their objects must never show.
CREDENTIALS = {"accessKeyId": "AKIA", "secretAccessKey": SECRET}
PINATA = {"pinata": {"jwt": SECRET}}
S3_SECRET = {**S3, "credentials": CREDENTIALS}
OUTPUTS = {"hls": {"path": "/h"}}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda h: h.transcode({"type": "gcs", "bucket": "b", "credentials": CREDENTIALS}, S3, OUTPUTS),
            "Invalid transcode input (an object of type 'gcs' with keys 'type', 'bucket', 'credentials'): "
            "expected a URL, or an S3 input object.",
        ),
        (
            lambda h: h.transcode(VIDEO, {"bucket": "b", "credentials": CREDENTIALS}, OUTPUTS),
            "Invalid transcode storage (an object with keys 'bucket', 'credentials'): "
            "expected an object with a 'type'.",
        ),
        (
            # A template renders a dict as its text, unless the DAG renders native objects.
            lambda h: h.transcode(VIDEO, str(S3_SECRET), OUTPUTS),
            "Invalid transcode storage (a str): expected an object with a 'type'.",
        ),
        (
            lambda h: h.transcode({**S3_SECRET, 1: "x"}, S3, OUTPUTS),
            "Invalid input.str (an object of type 's3' with keys 'type', 'endpoint', 'bucket', "
            "'credentials', 1): Input should be a valid string.",
        ),
        (
            lambda h: h.export_asset("a1", ipfs=PINATA, custom_url="https://up.example.com/v"),
            "Export of asset 'a1' needs exactly one destination: ipfs or custom_url (got both).",
        ),
        (
            lambda h: h.export_asset("a1", ipfs=json.dumps(PINATA)),
            "Invalid export ipfs (a str): expected True, or Livepeer's IPFS export parameters.",
        ),
    ],
    ids=[
        "input-object",
        "storage-object",
        "storage-text",
        "input-not-a-string-keyed-object",
        "export-both",
        "export-ipfs-text",
    ],
)
def test_an_error_about_an_object_holding_credentials_names_its_shape_never_its_secrets(
    httpserver: HTTPServer, hook: LivepeerHook, call: Callable[[LivepeerHook], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        call(hook)
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)
    assert httpserver.log == []


@pytest.mark.parametrize("call", CREATE_CALLS, ids=str)
def test_templated_fields_are_create_parameters(call: CreateCall) -> None:
    own = set(call.operator.template_fields) - set(LivepeerTaskOperator.template_fields)
    assert own <= set(call.model.model_fields) | call.options


@pytest.mark.parametrize("call", CREATE_CALLS, ids=str)
def test_every_model_has_its_path(call: CreateCall) -> None:
    request = call.model.of(call.valid).api_request()
    assert request.path == request.path.strip() and request.path.startswith("/")
    assert "{" not in request.path and (request.method, request.idempotent) == ("POST", False)


def test_the_import_operator_takes_encryption_and_a_creator_id_object() -> None:
    assert "encryption" in parameters(LivepeerImportAssetOperator.__init__)
    assert "encryption" in LivepeerImportAssetOperator.template_fields
    for function in (LivepeerImportAssetOperator.__init__, LivepeerTranscodeOperator.__init__):
        assert typing.get_type_hints(function)["creator_id"] == str | dict[str, Any] | None


@pytest.fixture
def hook(httpserver: HTTPServer, livepeer_connection: Callable[..., str]) -> LivepeerHook:
    return LivepeerHook(livepeer_connection(httpserver.url_for("/").rstrip("/")), max_attempts=1)


def sent_body(httpserver: HTTPServer) -> Any:
    [(request, _)] = httpserver.log
    return json.loads(request.data)


def test_the_operator_sends_its_create_arguments_under_livepeer_names(
    httpserver: HTTPServer, hook: LivepeerHook
) -> None:
    httpserver.expect_request("/api/asset/upload/url", method="POST").respond_with_json(CREATED)
    creator = {"type": "unverified", "value": "0xabc"}
    operator = LivepeerImportAssetOperator(
        task_id="i",
        url=" https://example.com/v.mp4 ",
        name="talk",
        static_mp4=True,
        creator_id=creator,
        encryption={"encryptedKey": "k"},
        target_segment_size_secs="6",
    )
    assert operator.create(hook).task.id == "t1"
    assert sent_body(httpserver) == {
        "url": "https://example.com/v.mp4",
        "name": "talk",
        "staticMp4": True,
        "creatorId": creator,
        "encryption": {"encryptedKey": "k"},
        "targetSegmentSizeSecs": 6.0,
    }


#: Every create parameter of each operator with a valid value other than its default (an export has two
#: cases: its destinations exclude each other).
EVERY_ARGUMENT: list[tuple[CreateCall, dict[str, Any]]] = [
    (
        CREATE_CALLS[0],
        {
            "url": "https://example.com/v.mp4",
            "name": "talk",
            "static_mp4": True,
            "playback_policy": {"type": "jwt"},
            "storage": {"ipfs": True},
            "profiles": [{"name": "240p", "bitrate": 250000, "width": 426, "height": 240}],
            "creator_id": {"type": "unverified", "value": "0xabc"},
            "encryption": {"encryptedKey": "k"},
            "c2pa": True,
            "target_segment_size_secs": 6,
        },
    ),
    (
        CREATE_CALLS[1],
        {
            "asset_id": "a1",
            "custom_url": "https://up.example.com/v",
            "custom_method": "POST",
            "custom_headers": {"k": "v"},
        },
    ),
    (CREATE_CALLS[1], {"asset_id": "a1", "ipfs": {"pinata": {"jwt": "j"}}}),
    (
        CREATE_CALLS[2],
        {
            "input": "ipfs://cid",
            "storage": S3,
            "outputs": {"hls": {"path": "/h"}, "mp4": {"path": "/m"}},
            "profiles": [{"name": "240p", "bitrate": 250000, "width": 426, "height": 240}],
            "target_segment_size_secs": 4,
            "creator_id": "0xabc",
            "c2pa": False,
        },
    ),
    (
        CREATE_CALLS[3],
        {
            "playback_id": "pb1",
            "start_time": 1000,
            "end_time": 2000,
            "name": "clip",
            "session_id": "s1",
            "rate_limit_timeout": 5,
        },
    ),
    (
        CREATE_CALLS[4],
        {
            "source": __file__,  # checked (a readable, non-empty file), not sent: create() uploads nothing
            "chunk_size": 1024,
            "name": "talk",
            "static_mp4": True,
            "playback_policy": {"type": "jwt"},
            "storage": {"ipfs": True},
            "profiles": [{"name": "240p", "bitrate": 250000, "width": 426, "height": 240}],
            "creator_id": "0xabc",
            "encryption": {"encryptedKey": "k"},
            "c2pa": True,
            "target_segment_size_secs": "6",
        },
    ),
]


def test_every_create_parameter_is_given_a_value() -> None:
    for call in CREATE_CALLS:
        given = set().union(*(set(values) for each, values in EVERY_ARGUMENT if each is call))
        assert given == set(parameters(call.operator.__init__)), call
    for call, values in EVERY_ARGUMENT:
        for name, value in values.items():
            assert value != parameters(call.operator.__init__)[name].default, (call, name)


@pytest.mark.parametrize(
    ("call", "values"), EVERY_ARGUMENT, ids=[f"{call}-{i}" for i, (call, _) in enumerate(EVERY_ARGUMENT)]
)
def test_the_operator_hands_every_create_parameter_to_the_hook(
    httpserver: HTTPServer, hook: LivepeerHook, call: CreateCall, values: dict[str, Any]
) -> None:
    request = call.model.of({name: value for name, value in values.items() if name not in call.options})
    httpserver.expect_request(f"/api{request.path()}", method="POST").respond_with_json(CREATED)
    call.operator(task_id="create", **values).create(hook)
    assert sent_body(httpserver) == request.body()


@pytest.mark.parametrize(
    ("call", "path", "body"),
    [
        (
            lambda h: h.export_asset("a1", custom_url="https://up.example.com/v", custom_headers={"k": "v"}),
            "/api/asset/a1/export",
            {"custom": {"url": "https://up.example.com/v", "headers": {"k": "v"}}},
        ),
        (lambda h: h.export_asset("a1", ipfs=True), "/api/asset/a1/export", {"ipfs": {}}),
        (
            lambda h: h.transcode("ipfs://cid", S3, {"hls": {"path": "/h"}}, c2pa=True),
            "/api/transcode",
            {"input": {"url": "ipfs://cid"}, "storage": S3, "outputs": {"hls": {"path": "/h"}}, "c2pa": True},
        ),
        (
            lambda h: h.create_clip("pb1", 1_000, 2_000, session_id="s1"),
            "/api/clip",
            {"playbackId": "pb1", "startTime": 1000, "endTime": 2000, "sessionId": "s1"},
        ),
        (
            lambda h: h.create_clip("pb1", "1000", " 2000.5 "),
            "/api/clip",
            {"playbackId": "pb1", "startTime": 1000, "endTime": 2000.5},
        ),
    ],
    ids=["export-custom", "export-ipfs", "transcode", "clip", "clip-numeric-strings"],
)
def test_hook_bodies(
    httpserver: HTTPServer, hook: LivepeerHook, call: Callable[[LivepeerHook], Any], path: str, body: Any
) -> None:
    httpserver.expect_request(path, method="POST").respond_with_json(CREATED)
    call(hook)
    assert sent_body(httpserver) == body


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("soon", None, "Invalid clip start_time 'soon': expected Unix milliseconds, a finite number >= 0."),
        (1000, "later", "Invalid clip end_time 'later': expected Unix milliseconds, a finite number >= 0."),
        ("-1", None, "Invalid clip start_time '-1': expected Unix milliseconds, a finite number >= 0."),
    ],
)
def test_a_clip_time_that_is_not_a_number_is_refused_naming_it(
    httpserver: HTTPServer, hook: LivepeerHook, start: Any, end: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        hook.create_clip("pb1", start, end)
    assert httpserver.log == []


def test_templated_arguments_are_checked_after_rendering(httpserver: HTTPServer, hook: LivepeerHook) -> None:
    httpserver.expect_request("/api/clip", method="POST").respond_with_json(CREATED)
    operator = LivepeerClipOperator(
        task_id="c",
        playback_id="{{ params.pb }}",
        start_time="{{ params.start }}",
        end_time="{{ params.end }}",
    )
    operator.render_template_fields({"params": {"pb": "pb1", "start": "1000", "end": "500"}})
    with pytest.raises(ValueError, match="Invalid clip end_time 500: expected it after start_time 1000"):
        operator.create(hook)
    assert httpserver.log == []
    operator.end_time = "3000"  # as a template renders it
    operator.create(hook)
    assert sent_body(httpserver)["endTime"] == 3000


def test_airflow_reads_the_create_parameters_from_the_signature() -> None:
    with DAG("create_parameters", schedule=None, start_date=datetime(2026, 1, 1), default_args={"name": "n"}):
        from_defaults = LivepeerImportAssetOperator(task_id="i", url="https://example.com/v.mp4")
        # expand() accepts only parameters of the operator's __init__ signature.
        LivepeerImportAssetOperator.partial(task_id="many").expand(url=["https://example.com/a.mp4"])
        with pytest.raises(TypeError, match="'bogus'"):
            LivepeerImportAssetOperator.partial(task_id="bad").expand(bogus=["x"])
        # Airflow 2 raises an AirflowException for it, Airflow 3 a TypeError.
        with pytest.raises((TypeError, AirflowException), match="missing keyword argument 'url'"):
            LivepeerImportAssetOperator(task_id="no_url")
    assert from_defaults.name == "n"


def livepeer_schema() -> dict[str, Any]:
    path = shared_file("livepeer", "api-schema.yaml")
    return dict(yaml.safe_load(path.read_text())["components"]["schemas"])


@pytest.mark.parametrize(
    ("model", "schema_name"),
    [
        (ImportAssetRequest, "new-asset-from-url-payload"),
        (TranscodeRequest, "transcode-payload"),
        (ClipRequest, "clip-payload"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_body_names_are_livepeer_schema_properties(model: type[CreateRequest], schema_name: str) -> None:
    schema = livepeer_schema()[schema_name]
    aliases = {field.alias for field in model.model_fields.values()}
    assert aliases == set(schema["properties"])
    required = {field.alias for field in model.model_fields.values() if field.is_required()}
    assert required == set(schema["required"])


def test_export_body_names_are_livepeer_schema_properties() -> None:
    custom, ipfs = livepeer_schema()["export-task-params"]["oneOf"]
    assert set(custom["properties"]) == {"custom"} and set(ipfs["properties"]) == {"ipfs"}
    assert set(custom["properties"]["custom"]["properties"]) == {"url", "method", "headers"}
    assert {f"custom_{name}" for name in ("url", "method", "headers")} | {"ipfs", "asset_id"} == set(
        ExportAssetRequest.model_fields
    )
