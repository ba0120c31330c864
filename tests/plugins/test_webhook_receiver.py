"""The receiver of Livepeer's webhooks, served on 127.0.0.1 with Airflow's metadata database behind it.

Each call is real HTTP to the plugin's FastAPI app (run by uvicorn); what it writes is read back from the
database Airflow uses (SQLite here, migrated by ``airflow db migrate``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_1_PLUS
from airflow_provider_livepeer.webhooks import MAX_BODY_BYTES, signature_header
from tests.support.servers import asgi_server
from tests.support.webhooks import SECRET, asset_event, raw, task_event

pytestmark = pytest.mark.skipif(
    not AIRFLOW_V_3_1_PLUS, reason="Airflow mounts a plugin's FastAPI app from 3.1 on"
)

HOST = "livepeer.example.com"
UPLOADS = "livepeer_webhook_test_uploads"
ALIAS = "livepeer_webhook_test_alias"
REFUSED = {"detail": "missing or invalid Livepeer-Signature"}


@pytest.fixture
def receiver(airflow_db: None) -> Iterator[str]:
    """The receiver app, fresh (its connection cache empty), at ``<url>/webhooks``."""
    from airflow_provider_livepeer.plugins.livepeer import create_app

    with asgi_server(create_app()) as url:
        yield f"{url}/webhooks"


@pytest.fixture
def webhook_conn(livepeer_connection: Callable[..., str]) -> str:
    conn_id = f"livepeer_hooks_{uuid.uuid4().hex[:8]}"
    return livepeer_connection(
        f"https://{HOST}",
        conn_id=conn_id,
        webhook_secret=SECRET,
        webhook_uploads_asset=UPLOADS,
        webhook_asset_alias=ALIAS,
    )


def post(url: str, body: bytes, header: str | None = "sign", **headers: str) -> requests.Response:
    """POST a body, signed with :data:`SECRET` by default, as Livepeer does."""
    if header == "sign":
        header = signature_header(SECRET, body, int(time.time() * 1000))
    if header is not None:
        headers["Livepeer-Signature"] = header
    # How fast it answers is measured by the deployment scenario, not timed here.
    return requests.post(url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


def events_of(name_or_uri: str) -> list[dict[str, Any]]:
    """The ``extra`` of every Asset event of an Asset (by name or URI), oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import or_, select

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(or_(AssetModel.uri == name_or_uri, AssetModel.name == name_or_uri))
            .order_by(AssetEvent.id)
        )
        return [dict(extra) for extra in session.scalars(query)]


def alias_events(alias: str) -> list[str]:
    """The ``livepeer_event_id`` of every Asset event attached to an alias."""
    from airflow.models.asset import AssetAliasModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        model = session.scalars(select(AssetAliasModel).where(AssetAliasModel.name == alias)).one_or_none()
        return [] if model is None else [event.extra["livepeer_event_id"] for event in model.asset_events]


def asset_uri(body: dict[str, Any]) -> str:
    return f"livepeer://{HOST}/assets/{body['payload']['task']['snapshot']['outputAssetId']}"


def test_a_signed_upload_becomes_asset_events_once_however_often_it_is_sent(
    receiver: str, webhook_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = task_event()
    url = f"{receiver}/{webhook_conn}"
    first = post(url, raw(body))
    assert (first.status_code, first.json()) == (200, {"recorded": True})
    # Livepeer's retry, and a replay with a new t: the signature does not cover t, the event id tells.
    for _ in range(2):
        again = post(url, raw(body))
        assert (again.status_code, again.json()) == (200, {"recorded": False})

    [extra] = events_of(asset_uri(body))
    assert (
        extra["livepeer_event_id"] == body["id"]
        and extra["livepeer_task_id"] == body["payload"]["task"]["id"]
    )
    assert extra["payload"] == body["payload"]
    # The "any upload finished" Asset of the connection, and the alias, heard of it once each.
    assert [e["livepeer_event_id"] for e in events_of(UPLOADS)].count(body["id"]) == 1
    assert alias_events(ALIAS).count(body["id"]) == 1
    assert SECRET not in caplog.text and SECRET not in json.dumps(extra)


def test_an_asset_event_is_its_assets_and_not_an_upload(receiver: str, webhook_conn: str) -> None:
    body = asset_event("asset.ready")
    assert post(f"{receiver}/{webhook_conn}", raw(body)).json() == {"recorded": True}
    [extra] = events_of(f"livepeer://{HOST}/assets/{body['payload']['asset']['id']}")
    assert (extra["livepeer_event"], extra["phase"]) == ("asset.ready", "ready")
    assert body["id"] not in [e["livepeer_event_id"] for e in events_of(UPLOADS)]


def test_duplicate_deliveries_arriving_at_once_make_one_asset_event(receiver: str, webhook_conn: str) -> None:
    body = raw(task_event())
    gate = threading.Barrier(12)
    answers: list[dict[str, Any]] = []

    def deliver() -> None:
        gate.wait()
        answers.append(post(f"{receiver}/{webhook_conn}", body).json())

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(answer["recorded"] for answer in answers) == [False] * 11 + [True]
    assert len(events_of(asset_uri(json.loads(body)))) == 1


@pytest.mark.parametrize(
    "header",
    [None, "t=1,v1=" + "0" * 64, signature_header("another secret", b"{}", 1), "garbage"],
    ids=["missing", "zeros", "another secret", "garbage"],
)
def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(
    receiver: str, webhook_conn: str, header: str | None
) -> None:
    body = task_event()
    answer = post(f"{receiver}/{webhook_conn}", raw(body), header)
    assert (answer.status_code, answer.json()) == (401, REFUSED)
    assert events_of(asset_uri(body)) == []


def test_a_connection_without_a_secret_or_none_at_all_answers_as_a_wrong_signature(
    receiver: str, livepeer_connection: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    bare = livepeer_connection(f"https://{HOST}", conn_id="livepeer_no_secret")
    body = task_event()
    for conn_id in (bare, "no_such_connection"):
        answer = post(f"{receiver}/{conn_id}", raw(body))
        assert (answer.status_code, answer.json()) == (401, REFUSED)
    assert events_of(asset_uri(body)) == []
    # The log says which extra is missing (the caller is told nothing).
    assert any("'webhook_secret'" in r.getMessage() and bare in r.getMessage() for r in caplog.records)


def test_a_body_over_the_bound_is_refused_unread(receiver: str, webhook_conn: str) -> None:
    big = raw({**task_event(), "padding": "x" * MAX_BODY_BYTES})
    assert post(f"{receiver}/{webhook_conn}", big).status_code == 413
    # Without a Content-Length (chunked), the body is cut off as it arrives.
    chunked = requests.post(
        f"{receiver}/{webhook_conn}",
        data=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
        headers={"Livepeer-Signature": signature_header(SECRET, big, 1)},
        timeout=10,
    )
    assert chunked.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        raw({"id": "e", "event": "task.completed", "payload": {}}),
        raw({"event": "task.completed"}),
    ],
    ids=["not json", "no task", "no id"],
)
def test_a_signed_body_that_is_not_livepeers_shape_is_a_400(
    receiver: str, webhook_conn: str, body: bytes
) -> None:
    answer = post(f"{receiver}/{webhook_conn}", body)
    assert answer.status_code == 400 and "not" in answer.json()["detail"]


def test_an_event_the_provider_does_not_act_on_is_answered_and_ignored(
    receiver: str, webhook_conn: str
) -> None:
    body = {**task_event(), "event": "task.updated"}
    assert post(f"{receiver}/{webhook_conn}", raw(body)).json() == {"recorded": False, "ignored": True}
    assert events_of(asset_uri(body)) == []


def test_the_provider_registers_the_receiver_with_airflows_api_server() -> None:
    """What the api-server mounts: the plugin apps Airflow's plugins manager found (providers' included)."""
    from airflow import plugins_manager

    if hasattr(plugins_manager, "get_fastapi_plugins"):  # Airflow 3.2+
        apps, _ = plugins_manager.get_fastapi_plugins()
    else:
        plugins_manager.initialize_fastapi_plugins()
        apps = plugins_manager.fastapi_apps
    assert [app["url_prefix"] for app in apps if app["name"] == "Livepeer webhooks"] == ["/livepeer"]
