"""Livepeer webhook events written as Airflow Asset events, once each, in Airflow's metadata database.

The receiver (:mod:`airflow_provider_livepeer.plugins.livepeer`) runs in the api-server, which has the
metadata database: it records an event through Airflow's ``AssetManager`` (``register_asset_change``,
what Airflow's own ``POST /api/v2/assets/events`` calls), in one transaction committed before it answers
Livepeer. Going through the REST API instead would need credentials for the api-server to call itself,
and would add an HTTP hop to every event; the manager is the same code without them.

**Each Livepeer event once.** Livepeer retries a call for up to about 25 hours (33 tries, from 5 s doubling
up to 1 h apart, each up to 30 s), always with the same event ``id``, and its signature does not cover
the call's time: the event id is what tells a retry or a replay apart. The ids are kept in the Asset
events themselves (``extra["livepeer_event_id"]``), in the database every api-server replica shares, so
no table of the provider's own is needed (a provider may not add one to Airflow's schema). Recording an
event is, in one transaction:

1. the row of the Asset the event is about (``livepeer://<host>/assets/<id>`` or ``/tasks/<id>``), made if
   no DAG declared it yet, read ``FOR UPDATE``: two replicas handed the same event at once take turns
   there (PostgreSQL and MySQL lock the row; SQLite, one process only, writes one transaction at a time,
   and a lock in this process orders its threads);
2. that Asset's events, looked through for the event id: a repeat is answered as done and changes nothing;
3. the Asset event, attached to the connection's ``webhook_asset_alias`` if it names one, and for a
   completed upload one more event of the connection's ``webhook_uploads_asset``, with the same ``extra``.

The ids are kept as long as Airflow keeps its Asset events: ``airflow db clean`` of ``asset_event`` rows
younger than Livepeer's retry window (keep at least 2 days) would let a late retry through again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_livepeer.assets import normalize_livepeer_uri
from airflow_provider_livepeer.webhooks import (
    AssetEvent,
    TaskEvent,
    event_extra,
    is_finished_upload,
    object_uri,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Orders this process's threads: SQLite has no row locks (PostgreSQL and MySQL have, across replicas).
_WRITE_LOCK = threading.Lock()
#: One more try when two replicas made the same new Asset at once: the second finds the first's row.
_TRIES = 2


@dataclass(frozen=True)
class Targets:
    """Where a connection's events go.

    :param api_base_url: the connection's API base URL; its host is the ``livepeer://`` URIs' host.
    :param asset_alias: the ``AssetAlias`` every event is attached to, or ``None``.
    :param uploads_asset: the name (or URI) of the Asset that hears of every completed upload, or ``None``.
    """

    api_base_url: str
    asset_alias: str | None = None
    uploads_asset: str | None = None


def record_event(event: TaskEvent | AssetEvent, targets: Targets) -> bool:
    """Write an event's Airflow Asset events, unless the event was recorded before.

    :returns: ``True`` when it was written now, ``False`` for a repeat (nothing written).
    :raises sqlalchemy.exc.SQLAlchemyError: the database refused; nothing was written (the caller answers
        so that Livepeer retries).
    """
    from airflow.utils.session import create_session
    from sqlalchemy.exc import IntegrityError

    for attempt in range(1, _TRIES + 1):
        try:
            with _WRITE_LOCK, create_session() as session:
                return _record(session, event, targets)
        except IntegrityError:
            if attempt == _TRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _record(session: Session, event: TaskEvent | AssetEvent, targets: Targets) -> bool:
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetEvent as AssetEventRow
    from sqlalchemy import select

    uri = normalize_livepeer_uri(urlsplit(object_uri(targets.api_base_url, event))).geturl()
    anchor = _asset_row(session, uri, lock=True)
    earlier = session.scalars(select(AssetEventRow.extra).where(AssetEventRow.asset_id == anchor.id))
    if any(isinstance(extra, dict) and extra.get("livepeer_event_id") == event.id for extra in earlier):
        return False
    extra = event_extra(event)
    aliases = [targets.asset_alias] if targets.asset_alias else []
    asset_manager.register_asset_change(
        asset=anchor, extra=extra, source_alias_names=aliases, session=session
    )
    if targets.uploads_asset and is_finished_upload(event):
        uploads = _asset_row(session, targets.uploads_asset, lock=False)
        asset_manager.register_asset_change(asset=uploads, extra=extra, session=session)
    return True


def _asset_row(session: Session, name_or_uri: str, *, lock: bool) -> Any:
    """The Asset's row (by name, else by URI), made when no DAG declared the Asset yet.

    :param lock: read it ``FOR UPDATE``: concurrent deliveries of one event wait here for each other.
    """
    from airflow.models.asset import AssetModel
    from sqlalchemy import or_, select

    query = select(AssetModel).where(or_(AssetModel.name == name_or_uri, AssetModel.uri == name_or_uri))
    row = session.scalars((query.with_for_update() if lock else query).limit(1)).first()
    if row is None:
        # As Airflow does for an Asset a task attaches to an alias: the row made on first use.
        row = AssetModel(name=name_or_uri, uri=name_or_uri)
        session.add(row)
        session.flush()  # a replica that made it first makes this an IntegrityError: tried again
    return row
