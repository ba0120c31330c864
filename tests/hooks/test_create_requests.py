"""Each create call's parameters are declared once: the hook, the operator and the request model agree."""

from __future__ import annotations

import inspect
import json
import sys
import typing
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.providers.common.compat.sdk import DAG
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.create_requests import (
    CREATE_REQUESTS,
    ClipRequest,
    CreateRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    TranscodeRequest,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTaskOperator,
    LivepeerTranscodeOperator,
)

OPERATORS: list[type[LivepeerTaskOperator]] = [
    LivepeerImportAssetOperator,
    LivepeerExportAssetOperator,
    LivepeerTranscodeOperator,
    LivepeerClipOperator,
]
#: Parameters of a hook's create method that are options of the call, not fields of the request.
CALL_OPTIONS = {"create_clip": {"rate_limit_timeout"}}
S3 = {"type": "s3", "endpoint": "https://s3.example.com", "bucket": "b", "credentials": {}}
CREATED = {"asset": {"id": "a1", "playbackId": "p1"}, "task": {"id": "t1"}}


def hook_parameters(model: type[CreateRequest]) -> dict[str, inspect.Parameter]:
    method = getattr(LivepeerHook, model.hook_method)
    return {name: p for name, p in inspect.signature(method).parameters.items() if name != "self"}


def default_of(model: type[CreateRequest], name: str) -> Any:
    field = model.model_fields[name]
    return inspect.Parameter.empty if field.is_required() else field.default


def test_every_create_operator_has_a_request_model() -> None:
    assert sorted(op.request_model.__name__ for op in OPERATORS) == sorted(
        m.__name__ for m in CREATE_REQUESTS
    )


@pytest.mark.parametrize("model", CREATE_REQUESTS, ids=lambda m: m.__name__)
def test_hook_method_takes_exactly_the_model_fields_with_their_types_and_defaults(
    model: type[CreateRequest],
) -> None:
    parameters = hook_parameters(model)
    hints = typing.get_type_hints(getattr(LivepeerHook, model.hook_method))
    assert set(parameters) - CALL_OPTIONS.get(model.hook_method, set()) == set(model.model_fields)
    for name, field in model.model_fields.items():
        assert hints[name] == field.annotation, name
        assert parameters[name].default == default_of(model, name), name


@pytest.mark.parametrize("operator", OPERATORS, ids=lambda op: op.__name__)
def test_operator_takes_the_hook_method_parameters(operator: type[LivepeerTaskOperator]) -> None:
    model = operator.request_model
    own = inspect.signature(operator).parameters
    base = inspect.signature(LivepeerTaskOperator).parameters
    for name, parameter in hook_parameters(model).items():
        assert name in own, f"{operator.__name__} lacks {model.hook_method}'s parameter {name}"
        assert own[name].default == parameter.default, name
        assert own[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        if name in model.model_fields:
            assert own[name].annotation == model.model_fields[name].annotation, name
    extra = set(own) - set(hook_parameters(model)) - set(base) - {"self"}
    assert extra == set(), f"{operator.__name__} takes parameters its hook method does not: {extra}"
    # The attributes the operator types for its own code are typed as the model types them.
    namespace = vars(sys.modules[operator.__module__])
    for name, hint in vars(operator).get("__annotations__", {}).items():
        if name in model.model_fields:
            assert eval(hint, namespace) == model.model_fields[name].annotation, name


@pytest.mark.parametrize("operator", OPERATORS, ids=lambda op: op.__name__)
def test_templated_fields_are_create_parameters(operator: type[LivepeerTaskOperator]) -> None:
    own = set(operator.template_fields) - set(LivepeerTaskOperator.template_fields)
    assert own <= set(operator.request_model.model_fields)


def test_the_import_operator_takes_encryption_and_a_creator_id_object() -> None:
    parameters = inspect.signature(LivepeerImportAssetOperator).parameters
    assert "encryption" in parameters and "encryption" in LivepeerImportAssetOperator.template_fields
    assert parameters["creator_id"].annotation == (str | dict[str, Any] | None)
    assert inspect.signature(LivepeerTranscodeOperator).parameters["creator_id"].annotation == (
        str | dict[str, Any] | None
    )


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
    ],
    ids=["export-custom", "export-ipfs", "transcode", "clip"],
)
def test_hook_bodies(
    httpserver: HTTPServer, hook: LivepeerHook, call: Callable[[LivepeerHook], Any], path: str, body: Any
) -> None:
    httpserver.expect_request(path, method="POST").respond_with_json(CREATED)
    call(hook)
    assert sent_body(httpserver) == body


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
        with pytest.raises(TypeError, match="missing keyword argument 'url'"):
            LivepeerImportAssetOperator(task_id="no_url")
    assert from_defaults.name == "n"


def livepeer_schema() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2].parent / "shared" / "livepeer" / "api-schema.yaml"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared Livepeer reference data is not beside the project")
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
