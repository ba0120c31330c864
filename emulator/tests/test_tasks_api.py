"""GET /api/task and /api/task/{id}: auth, errors, account isolation, filters, paging and order."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from livepeer_studio_emulator.clock import ManualClock
from livepeer_studio_emulator.listing import parse_limit
from livepeer_studio_emulator.timeline import Durations

from tests.support.emulator_api import ApiClient, recorded_playback_id, video_bytes
from tests.support.schema import assert_valid
from tests.support.tasks import transcode_body

START = 1_700_000_000.0
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def frozen(livepeer_emulator_factory: Any, clock: ManualClock) -> Any:
    """An emulator whose time only moves when the test says.

    Its tasks stay pending for a second (Livepeer schedules them at once): tasks made a second apart
    then keep the order they were made in, which the list tests below count on.
    """
    return livepeer_emulator_factory(
        api_keys=["key-a", "key-b"], clock=clock, durations=Durations(pending=1.0)
    )


@pytest.fixture
def api_a(frozen: Any) -> ApiClient:
    return ApiClient(frozen.url, "key-a")


@pytest.fixture
def api_b(frozen: Any) -> ApiClient:
    return ApiClient(frozen.url, "key-b")


def make_tasks(api: ApiClient, clock: ManualClock, count: int) -> list[str]:
    """``count`` transcode tasks, one second apart; returns their ids, oldest first."""
    ids = []
    for index in range(count):
        response = api.post("/transcode", json=transcode_body(f"v{index}"))
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
        clock.advance(1)
    return ids


def filters(*items: dict[str, Any]) -> dict[str, str]:
    return {"filters": json.dumps(list(items))}


def ids_of(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()]


# ----------------------------------------------------------------------------- auth and errors


def test_get_task_returns_what_was_created(api: ApiClient, livepeer_emulator: Any) -> None:
    created = api.post("/transcode", json=transcode_body()).json()
    task = api.task(created["id"])
    assert UUID4.match(task["id"])
    assert task["type"] == "transcode-file"
    assert task["userId"] == livepeer_emulator.user_id()
    assert task["createdAt"] == created["createdAt"]


def test_unknown_task_is_404_not_found(api: ApiClient) -> None:
    response = api.get(f"/task/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"errors": ["not found"]}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "request is not authenticated"),
        # Livepeer echoes the unknown key (the provider keeps it out of its errors and logs).
        ("Bearer wrong-key-0123456789", "no token wrong-key-0123456789 found"),
        ("Basic a2V5OnNlY3JldA==", "unsupported authorization header scheme: Basic"),
        ("Bearer ", "no authorization token provided"),
    ],
)
def test_missing_or_unknown_key_is_401(livepeer_emulator: Any, header: str | None, message: str) -> None:
    client = ApiClient(livepeer_emulator.url, None)
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/task", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"errors": [message]}


def test_another_accounts_task_is_403(api: ApiClient, other_api: ApiClient) -> None:
    task_id = api.post("/transcode", json=transcode_body()).json()["id"]
    response = other_api.get(f"/task/{task_id}")
    assert response.status_code == 403
    assert response.json() == {"errors": ["user can only request information on their own tasks"]}


def test_accounts_do_not_see_each_others_tasks(api: ApiClient, other_api: ApiClient) -> None:
    mine = api.post("/transcode", json=transcode_body()).json()["id"]
    theirs = other_api.post("/transcode", json=transcode_body()).json()["id"]
    assert ids_of(api.get("/task")) == [mine]
    assert ids_of(other_api.get("/task")) == [theirs]


def test_unknown_api_route_is_a_livepeer_404(api: ApiClient, livepeer_emulator: Any) -> None:
    response = requests.get(f"{livepeer_emulator.url}/api/multistream/target", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"errors": ["not found"]}
    assert_valid(response.json(), "error")


# ----------------------------------------------------------------------------- list and order


def test_list_is_a_bare_array_newest_first(api_a: ApiClient, clock: ManualClock) -> None:
    created = make_tasks(api_a, clock, 3)
    response = api_a.get("/task")
    assert isinstance(response.json(), list)
    assert ids_of(response) == created[::-1]
    assert "X-Total-Count" not in response.headers


def test_order_parameter(api_a: ApiClient, clock: ManualClock) -> None:
    created = make_tasks(api_a, clock, 3)
    assert ids_of(api_a.get("/task", params={"order": "createdAt-false"})) == created
    assert ids_of(api_a.get("/task", params={"order": "createdAt-true"})) == created[::-1]
    # Nothing usable: the server falls back to id ascending.
    assert ids_of(api_a.get("/task", params={"order": "bogus-true"})) == sorted(created)


def test_order_follows_updated_at_by_default(api_a: ApiClient, clock: ManualClock, frozen: Any) -> None:
    old, new = make_tasks(api_a, clock, 2)
    # The older task moves on (is updated) after the newer one was created: it comes first now.
    clock.advance(0.7)  # old: running, progress 0.1 since 0.6 s ago; new: waiting since 0.7 s ago
    assert api_a.task(old)["status"]["progress"] == 0.1
    assert api_a.task(new)["status"]["phase"] == "waiting"
    assert ids_of(api_a.get("/task")) == [old, new]


# ----------------------------------------------------------------------------- filters


@pytest.fixture
def mixed_tasks(api_a: ApiClient, clock: ManualClock, frozen: Any, tmp_path: Any) -> dict[str, Any]:
    """An upload (then an export of its asset), a transcode and a clip, created at known times."""
    source = tmp_path / "source.mp4"
    source.write_bytes(video_bytes())
    asset, upload = api_a.import_url(source.as_uri())
    assert frozen.wait_for_jobs()
    clock.advance(10)  # the import completes
    assert api_a.task(upload)["status"]["phase"] == "completed"
    transcode = api_a.post("/transcode", json=transcode_body()).json()["id"]
    clock.advance(1)
    clip_of = {"playbackId": recorded_playback_id(api_a), "startTime": 1}
    clip = api_a.post("/clip", json=clip_of).json()["task"]["id"]
    assert frozen.wait_for_jobs()
    clock.advance(1)
    export = api_a.post(f"/asset/{asset['id']}/export", json={"ipfs": {}}).json()["task"]["id"]
    return {"upload": upload, "transcode": transcode, "clip": clip, "export": export, "asset": asset["id"]}


def test_filter_by_each_string_field(api_a: ApiClient, mixed_tasks: dict[str, Any], frozen: Any) -> None:
    every = {mixed_tasks[k] for k in ("upload", "transcode", "clip", "export")}
    user_id, project_id = frozen.user_id("key-a"), frozen.state.account("key-a").project_id

    def ids(*items: dict[str, Any]) -> set[str]:
        return set(ids_of(api_a.get("/task", params=filters(*items))))

    assert ids({"id": "id", "value": mixed_tasks["clip"]}) == {mixed_tasks["clip"]}
    assert ids({"id": "type", "value": "transcode-file"}) == {mixed_tasks["transcode"]}
    assert ids({"id": "type", "value": "upload"}) == {mixed_tasks["upload"]}
    assert ids({"id": "userId", "value": user_id}) == every
    assert ids({"id": "userId", "value": frozen.user_id("key-b")}) == set()
    assert ids({"id": "projectId", "value": project_id}) == every
    assert ids({"id": "projectId", "value": "another-project"}) == set()
    assert ids({"id": "inputAssetId", "value": mixed_tasks["asset"]}) == {mixed_tasks["export"]}
    assert ids({"id": "outputAssetId", "value": mixed_tasks["asset"]}) == {mixed_tasks["upload"]}
    # Tasks have no name on Livepeer, so a name filter (a substring match) matches none.
    assert ids({"id": "name", "value": ""}) == set()
    # Filters combine with AND.
    assert ids({"id": "type", "value": "upload"}, {"id": "userId", "value": user_id}) == {
        mixed_tasks["upload"]
    }


def test_filter_integer_fields_with_comparisons(api_a: ApiClient, clock: ManualClock) -> None:
    first, second, third = make_tasks(api_a, clock, 3)
    created = {task["id"]: task["createdAt"] for task in api_a.get("/task").json()}
    middle = created[second]

    def ids(field: str, value: Any) -> set[str]:
        return set(ids_of(api_a.get("/task", params=filters({"id": field, "value": value}))))

    assert ids("createdAt", middle) == {second}
    assert ids("createdAt", {"gt": middle}) == {third}
    assert ids("createdAt", {"gte": middle}) == {second, third}
    assert ids("createdAt", {"lt": middle}) == {first}
    assert ids("createdAt", {"lte": middle}) == {first, second}
    assert ids("createdAt", {"gt": created[first], "lt": created[third]}) == {second}
    assert ids("createdAt", str(middle)) == {second}  # numeric strings are numbers to the database
    updated = {task["id"]: task["status"]["updatedAt"] for task in api_a.get("/task").json()}
    pivot = min(updated.values())
    expected = {key for key, value in updated.items() if value > pivot}
    assert 0 < len(expected) < 3
    assert ids("updatedAt", {"gt": pivot}) == expected
    assert ids("updatedAt", {"lte": pivot}) == set(updated) - expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not json", "not valid JSON"),
        ('{"id": "type", "value": "x"}', "must be an array"),
        ('[{"id": "colour", "value": "red"}]', 'unknown field: "colour"'),
        ('[{"id": "type"}]', 'missing filter value for id "type"'),
        ('[{"id": "createdAt", "value": {"eq": 1}}]', 'unknown comparison: "eq"'),
        ('[{"id": "createdAt", "value": {"gt": "soon"}}]', "expected a number"),
        ('["type"]', "each filter must be an object"),
    ],
)
def test_bad_filters_are_400(api: ApiClient, raw: str, problem: str) -> None:
    response = api.get("/task", params={"filters": raw})
    assert response.status_code == 400
    [message] = response.json()["errors"]
    assert message.startswith("error parsing filters")
    assert problem in message


# ----------------------------------------------------------------------------- paging


def test_pages_follow_the_link_header_to_the_end(api_a: ApiClient, clock: ManualClock, frozen: Any) -> None:
    created = make_tasks(api_a, clock, 5)
    query = {
        "limit": "2",
        "order": "createdAt-true",
        "filters": json.dumps([{"id": "type", "value": "transcode-file"}]),
    }
    response = api_a.get("/task", params=query)
    seen = ids_of(response)
    cursors = []
    while "Link" in response.headers:
        match = re.fullmatch(r'<(?P<url>[^>]+)>; rel="next"', response.headers["Link"])
        assert match, response.headers["Link"]
        url = urlsplit(match["url"])
        assert f"{url.scheme}://{url.netloc}" == frozen.url  # absolute, from the request's base URL
        params = parse_qs(url.query)
        assert params["limit"] == ["2"]  # the other parameters are kept
        assert params["order"] == ["createdAt-true"]
        assert json.loads(params["filters"][0]) == [{"id": "type", "value": "transcode-file"}]
        cursors.append(params["cursor"][0])
        if params["cursor"] == ["undefined"]:
            break
        response = api_a.get("/task", params={**query, "cursor": params["cursor"][0]})
        seen += ids_of(response)
    assert cursors == ["skip2", "skip4", "undefined"]  # the last, partial page links to cursor=undefined
    assert seen == created[::-1]
    last = api_a.get("/task", params={**query, "cursor": "undefined"})
    assert last.json() == []
    assert "Link" not in last.headers  # an empty page has no link


def test_full_last_page_links_to_an_empty_page(api_a: ApiClient, clock: ManualClock) -> None:
    make_tasks(api_a, clock, 2)
    response = api_a.get("/task", params={"limit": "2"})
    assert "cursor=skip2" in response.headers["Link"]
    following = api_a.get("/task", params={"limit": "2", "cursor": "skip2"})
    assert following.json() == []
    assert "Link" not in following.headers


def test_count_adds_x_total_count_on_non_empty_pages(api_a: ApiClient, clock: ManualClock) -> None:
    make_tasks(api_a, clock, 3)
    response = api_a.get("/task", params={"count": "1", "limit": "1"})
    assert len(response.json()) == 1
    assert response.headers["X-Total-Count"] == "3"
    filtered = api_a.get(
        "/task", params={"count": "true", **filters({"id": "createdAt", "value": {"gt": int(START * 1000)}})}
    )
    assert filtered.headers["X-Total-Count"] == "2"
    # The server sets the header per returned row: a page with no rows has none.
    empty = api_a.get("/task", params={"count": "1", "cursor": "skip10"})
    assert empty.json() == []
    assert "X-Total-Count" not in empty.headers


@pytest.mark.parametrize(("limit", "expected"), [("0", 20), ("-3", 20), ("abc", 20), ("", 20), ("7x", 7)])
def test_invalid_limits_mean_the_default(
    api_a: ApiClient, clock: ManualClock, limit: str, expected: int
) -> None:
    make_tasks(api_a, clock, 1)
    response = api_a.get("/task", params={"limit": limit})
    assert response.status_code == 200
    assert parse_limit(limit) == expected


def test_limit_is_clamped_to_1000() -> None:
    assert parse_limit("5000") == 1000
    assert parse_limit("1000") == 1000
    assert parse_limit(None) == 20


def test_malformed_skip_cursor_is_400(api: ApiClient) -> None:
    response = api.get("/task", params={"cursor": "skipme"})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"][0]


def test_id_cursor_keeps_later_ids(api_a: ApiClient, clock: ManualClock) -> None:
    created = sorted(make_tasks(api_a, clock, 4))
    response = api_a.get("/task", params={"cursor": created[1], "order": "id-false"})
    assert ids_of(response) == created[2:]


# ----------------------------------------------------------------------------- the read replica and keys


def test_single_reads_answer_404_until_a_new_record_reaches_the_replica(
    livepeer_emulator_factory: Any, clock: ManualClock, tmp_path: Any
) -> None:
    emulator = livepeer_emulator_factory(api_keys=["k"], clock=clock, read_lag=2.0)
    api = ApiClient(emulator.url, "k")
    source = tmp_path / "in.mp4"
    source.write_bytes(video_bytes())
    asset, task_id = api.import_url(source.as_uri())
    assert api.get(f"/task/{task_id}").status_code == 404
    assert api.get(f"/asset/{asset['id']}").json() == {"errors": ["Asset not found"]}
    clock.advance(1.999)
    assert api.get(f"/task/{task_id}").json() == {"errors": ["not found"]}
    clock.advance(0.001)
    assert api.get(f"/task/{task_id}").status_code == 200
    assert api.get(f"/asset/{asset['id']}").status_code == 200


def test_a_new_task_is_waiting_with_scheduled_at_though_the_create_answer_shows_pending(
    livepeer_emulator_factory: Any, clock: ManualClock
) -> None:
    emulator = livepeer_emulator_factory(api_keys=["k"], clock=clock)  # Livepeer's durations
    api = ApiClient(emulator.url, "k")
    created = api.post("/transcode", json=transcode_body()).json()
    assert created["status"]["phase"] == "pending"
    assert "scheduledAt" not in created
    clock.advance(0.001)  # the next read, however soon
    task = api.task(created["id"])
    assert task["status"] == {"phase": "waiting", "updatedAt": created["createdAt"] + 1, "retries": 0}
    assert task["scheduledAt"] == created["createdAt"] + 1


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/task", False),
        ("GET", "/task/{task}", True),
        ("POST", "/transcode", False),
        ("POST", "/clip", False),
        ("DELETE", "/asset/{asset}", False),
        ("GET", "/asset/{asset}", True),
        ("GET", "/asset", False),
        ("POST", "/asset/upload/url", True),
        ("POST", "/asset/{asset}/export", True),
    ],
)
def test_a_cors_key_calls_only_the_endpoints_livepeer_allows_it(
    livepeer_emulator: Any, api: ApiClient, tmp_path: Any, method: str, path: str, allowed: bool
) -> None:
    source = tmp_path / "in.mp4"
    source.write_bytes(video_bytes())
    asset, task_id = api.import_url(source.as_uri())
    livepeer_emulator.add_account("browser-key-0123", cors_key_of=livepeer_emulator.api_key)
    browser = ApiClient(livepeer_emulator.url, "browser-key-0123")
    bodies = {"/asset/upload/url": {"name": "v", "url": source.as_uri()}, "/transcode": transcode_body()}
    body = bodies.get(path, {"ipfs": {}} if path.endswith("export") else None)
    response = browser.request(method, path.format(task=task_id, asset=asset["id"]), json=body)
    if allowed:
        assert response.status_code != 403, response.text
    else:
        assert (response.status_code, response.json()) == (
            403,
            {"errors": ["access forbidden for CORS-enabled API key with restricted access"]},
        )
