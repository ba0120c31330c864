"""Validate JSON bodies against Livepeer's OpenAPI document (``../shared/livepeer/api-schema.yaml``).

``assert_valid(body, "task")`` checks a body against a component schema; ``assert_response_valid(body,
"GET", "/task/{taskId}", 200)`` against the schema an operation documents for a status. The OpenAPI 3.1
schemas are JSON Schema 2020-12. ``writeOnly`` is enforced: a property the document marks write-only
(``output.upload.videoFilePath``, Piñata credentials, ...) must never appear in an answer, as the server
strips them; ``readOnly`` is an annotation only.

Two documented deviations of the real server are allowed on ``task``, and only there:

* ``userId``: the server returns it (``db-schema.yaml`` adds it to the task) but the public schema omits it;
* ``output.clip``: the server stores a clip's spec at ``output.clip.assetSpec`` (README facts) but the
  public schema's ``output`` has no ``clip`` key. It is validated here as ``{"assetSpec": <asset>}``, so
  the clip's spec is checked as strictly as any asset.

A ``$ref`` beside other keys inside ``properties`` (``asset.storage.ipfs``: the file's ``cid``, ``url``
and ``gatewayUrl`` are ``$ref: ipfs-file-info/properties``) is merged into them, as the server's schema
compiler (json-schema-ref-parser) does; JSON Schema would read it as a property named ``$ref``.

Tests skip with a clear message when the shared folder is absent.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.project import SHARED, shared_file

API_SCHEMA = SHARED / "livepeer" / "api-schema.yaml"
_BASE_URI = "urn:livepeer:api-schema"


@functools.cache
def api_document() -> dict[str, Any]:
    """The OpenAPI document with the two task deviations above added."""
    yaml = pytest.importorskip("yaml")
    document = yaml.safe_load(shared_file("livepeer", "api-schema.yaml").read_text(encoding="utf-8"))
    db = yaml.safe_load(shared_file("livepeer", "db-schema.yaml").read_text(encoding="utf-8"))
    document = copy.deepcopy(document)
    task = document["components"]["schemas"]["task"]
    user_id = db["components"]["schemas"]["task"]["properties"]["userId"]
    task["properties"]["userId"] = {"type": user_id["type"], "readOnly": True}
    task["properties"]["output"]["properties"]["clip"] = {
        "type": "object",
        "properties": {"assetSpec": {"$ref": "#/components/schemas/asset"}},
        "required": ["assetSpec"],
    }
    _merge_property_refs(document, document)
    return document  # type: ignore[no-any-return]


def _merge_property_refs(node: Any, document: dict[str, Any]) -> None:
    """Replace each ``properties: {$ref: ..., other: ...}`` by the referenced properties plus the others."""
    if isinstance(node, list):
        for item in node:
            _merge_property_refs(item, document)
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get("$ref"), str):
        target: Any = document
        for part in properties.pop("$ref").removeprefix("#/").split("/"):
            target = target[part]
        node["properties"] = {**copy.deepcopy(target), **properties}
    for value in node.values():
        _merge_property_refs(value, document)


@functools.cache
def _registry() -> Any:
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT202012

    resource = referencing.Resource.from_contents(api_document(), default_specification=DRAFT202012)
    return referencing.Registry().with_resource(_BASE_URI, resource)


@functools.cache
def _answer_validator_class() -> Any:
    """Draft 2020-12 with ``writeOnly: true`` failing wherever such a property is present."""
    jsonschema = pytest.importorskip("jsonschema")

    def write_only(_validator: Any, value: Any, _instance: Any, _schema: Any) -> Iterator[Any]:
        if value is True:
            yield jsonschema.ValidationError("a writeOnly property must not appear in an answer")

    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"writeOnly": write_only})


def _validate(instance: Any, schema: dict[str, Any], what: str) -> None:
    validator = _answer_validator_class()({"$id": _BASE_URI + "#check", **schema}, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        details = "\n".join(
            f"  at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:10]
        )
        raise AssertionError(f"body is not a valid {what}:\n{details}")


def schema_ref(name: str) -> dict[str, Any]:
    """A ``$ref`` to a component schema."""
    if name not in api_document()["components"]["schemas"]:
        raise KeyError(f"no component schema {name!r} in {API_SCHEMA}")
    return {"$ref": f"{_BASE_URI}#/components/schemas/{name}"}


def assert_valid(instance: Any, schema: str | dict[str, Any]) -> None:
    """Assert ``instance`` is valid against a component schema (by name) or a schema dict.

    A schema dict may refer to components as ``{"$ref": "#/components/schemas/asset"}``.
    """
    if isinstance(schema, str):
        _validate(instance, schema_ref(schema), schema)
    else:
        _validate(instance, _rebase(schema), "instance of the given schema")


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema an operation documents for a status (or its ``default``), or ``None`` if none."""
    operation = api_document()["paths"][path][method.lower()]
    response = operation["responses"].get(str(status)) or operation["responses"].get("default")
    if response is None:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return _rebase(schema) if schema is not None else None


def assert_response_valid(body: Any, method: str, path: str, status: int) -> None:
    """Assert a response body matches what the OpenAPI document says ``method path`` answers with ``status``.

    :param path: the OpenAPI path template, e.g. ``/task/{taskId}``.
    """
    schema = response_schema(method, path, status)
    if schema is None:
        # Some operations (GET /task/{taskId}) document their default error with no schema.
        schema = schema_ref("error") if status >= 400 else None
    if schema is None:
        raise AssertionError(f"{method} {path} documents no JSON body for status {status}")
    _validate(body, schema, f"{method} {path} {status} body")


def _rebase(schema: Any) -> Any:
    """Point local ``#/...`` references at the document."""
    if isinstance(schema, dict):
        return {
            key: (f"{_BASE_URI}{value}" if key == "$ref" and str(value).startswith("#") else _rebase(value))
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema
