"""422 bodies as Livepeer's validator, ajv 8, writes them: its error objects, each as a JSON string."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_api import ApiClient, video_bytes


@pytest.fixture
def ready_asset(api: ApiClient, tmp_path: Path) -> dict[str, Any]:
    source = tmp_path / "source.mp4"
    source.write_bytes(video_bytes())
    asset, task_id = api.import_url(source.as_uri())
    assert api.wait_task(task_id)["status"]["phase"] == "completed"
    return api.get(f"/asset/{asset['id']}").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (
            {"url": "https://example.com/a.mp4"},
            {
                "instancePath": "",
                "schemaPath": "#/required",
                "keyword": "required",
                "params": {"missingProperty": "name"},
                "message": "must have required property 'name'",
            },
        ),
        (
            {"name": "a"},
            {"instancePath": "", "keyword": "required", "message": "must have required property 'url'"},
        ),
        (
            {"name": "a", "url": "ftp://example.com/a.mp4"},
            {"instancePath": "/url", "schemaPath": "#/properties/url/pattern", "keyword": "pattern"},
        ),
        (
            {"name": 5, "url": "https://example.com/a.mp4"},
            {
                "instancePath": "/name",
                "schemaPath": "#/properties/name/type",
                "keyword": "type",
                "params": {"type": "string"},
                "message": "must be string",
            },
        ),
        (
            # ajv looks at additionalProperties before the properties themselves.
            {"name": 5, "url": "https://x/a.mp4", "colour": "red"},
            {
                "instancePath": "",
                "schemaPath": "#/additionalProperties",
                "keyword": "additionalProperties",
                "params": {"additionalProperty": "colour"},
                "message": "must NOT have additional properties",
            },
        ),
        (
            {"name": "a", "url": "https://x/a.mp4", "profiles": [{"bitrate": 1}]},
            {
                "instancePath": "/profiles/0/bitrate",
                "schemaPath": "#/properties/profiles/items/properties/bitrate/minimum",
                "keyword": "minimum",
                "params": {"comparison": ">=", "limit": 400},
                "message": "must be >= 400",
            },
        ),
        (
            {"name": "a", "url": "https://x/a.mp4", "profiles": [{"bitrate": 400.5}]},
            {
                "instancePath": "/profiles/0/bitrate",
                "params": {"type": "integer"},
                "message": "must be integer",
            },
        ),
        (
            {"name": "a", "url": "https://x/a.mp4", "playbackPolicy": {"type": "bogus"}},
            {
                "instancePath": "/playbackPolicy/type",
                "keyword": "enum",
                "params": {"allowedValues": ["public", "jwt", "webhook"]},
                "message": "must be equal to one of the allowed values",
            },
        ),
    ],
)
def test_invalid_import_bodies_are_422_with_ajvs_first_error(
    api: ApiClient, payload: dict[str, Any], problem: dict[str, Any]
) -> None:
    # Livepeer's 422 lists ajv 8's error objects, each as a JSON string; ajv stops at the first error.
    response = api.post("/asset/upload/url", json=payload)
    assert response.status_code == 422
    messages = response.json()["errors"]
    assert len(messages) == 1
    error = json.loads(messages[0])
    assert list(error) == ["instancePath", "schemaPath", "keyword", "params", "message"]
    assert problem.items() <= error.items(), error


def test_a_union_no_branch_matches_reports_each_branchs_first_error_then_one_of(
    api: ApiClient, ready_asset: dict[str, Any]
) -> None:
    body = {"custom": {"url": "https://example.com/put", "headers": {"x": 1}}}
    response = api.post(f"/asset/{ready_asset['id']}/export", json=body)
    assert response.status_code == 422
    errors = [json.loads(message) for message in response.json()["errors"]]
    assert [(e["instancePath"], e["schemaPath"], e["message"]) for e in errors] == [
        (
            "/custom/headers/x",
            "#/oneOf/0/properties/custom/properties/headers/properties/x/type",
            "must be string",
        ),
        ("", "#/oneOf/1/required", "must have required property 'ipfs'"),
        ("", "#/oneOf", "must match exactly one schema in oneOf"),
    ]
