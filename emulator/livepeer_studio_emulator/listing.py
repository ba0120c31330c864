"""List endpoints: ``limit``, ``cursor``, ``filters``, ``order`` and ``count``, as Livepeer reads them.

This mirrors the server's shared list helpers (``parseFilters``, ``parseOrder``, the table ``find``):

* ``limit``: ``parseInt`` of the value; not a number or below 1 gives 20, above 1000 gives 1000.
* ``cursor``: ``skip<N>`` skips N rows; any other value keeps rows whose id sorts after it (so the
  ``undefined`` cursor of a last page's link matches nothing, as on the real server).
* ``filters``: a URL-encoded JSON array of ``{"id": FIELD, "value": V}``; integer fields also take
  ``{"gt"|"gte"|"lt"|"lte": n}``; text fields match a case-insensitive substring. A malformed array, an
  unknown field, a missing value or another comparison is a 400 ``error parsing filters: ...``.
* ``order``: ``field-true`` (descending) or ``field-false``, comma-separated; unknown parts are skipped and
  nothing usable means ``id`` ascending. The endpoints default to ``updatedAt-true,createdAt-true``.
* ``count``: any non-empty value adds ``X-Total-Count`` (the server sets it per returned row, so an empty
  page has none).

Pages are cut by offset, and rows that tie on every ``order`` field come in no defined order, as from
PostgreSQL, whose top-N sort for ``LIMIT``/``OFFSET`` orders ties differently for different page windows:
here ties are ordered by a hash of the row's id and the page's end, so a client paging through many tasks
sharing one ``updatedAt`` skips some and sees others twice unless its order ends with a unique field
(``updatedAt-true,id-true``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote_plus, unquote, urlencode

from livepeer_studio_emulator.errors import ApiError

FieldKind = Literal["str", "int", "text"]
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
DEFAULT_ORDER = "updatedAt-true,createdAt-true"
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_PARSE_INT = re.compile(r"\s*([+-]?\d+)")


@dataclass(frozen=True)
class ListField:
    """A field lists can be filtered and ordered by: its kind and how to read it from a JSON view."""

    kind: FieldKind
    get: Callable[[Mapping[str, Any]], Any]


def _path(*keys: str) -> Callable[[Mapping[str, Any]], Any]:
    def get(item: Mapping[str, Any]) -> Any:
        value: Any = item
        for key in keys:
            # Items are JSON objects: a dict is told apart far faster than a Mapping, for every item of
            # a list of thousands.
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get


TASK_FIELDS: dict[str, ListField] = {
    "id": ListField("str", _path("id")),
    # Tasks have no name: the server filters on a field its tasks never set, so nothing matches.
    "name": ListField("text", _path("name")),
    "createdAt": ListField("int", _path("createdAt")),
    "updatedAt": ListField("int", _path("status", "updatedAt")),
    "userId": ListField("str", _path("userId")),
    "type": ListField("str", _path("type")),
    "inputAssetId": ListField("str", _path("inputAssetId")),
    "outputAssetId": ListField("str", _path("outputAssetId")),
    "projectId": ListField("str", _path("projectId")),
}

ASSET_FIELDS: dict[str, ListField] = {
    "id": ListField("str", _path("id")),
    "name": ListField("text", _path("name")),
    "createdAt": ListField("int", _path("createdAt")),
    "updatedAt": ListField("int", _path("status", "updatedAt")),
    "userId": ListField("str", _path("userId")),
    "creatorId": ListField("str", _path("creatorId", "value")),
    "playbackId": ListField("str", _path("playbackId")),
    "projectId": ListField("str", _path("projectId")),
    "phase": ListField("str", _path("status", "phase")),
    "sourceUrl": ListField("str", _path("source", "url")),
    "sourceSessionId": ListField("str", _path("source", "sessionId")),
    "sourceAssetId": ListField("str", _path("source", "assetId")),
    "sourceType": ListField("str", _path("source", "type")),
    "sourcePlaybackId": ListField("str", _path("source", "playbackId")),
}

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Comparison:
    """A ``{"gt"|"gte"|"lt"|"lte": n}`` filter on an integer field, as a predicate.

    Its parts stay readable, so the task list can check it on a task's ``updatedAt`` before it builds
    anything, and take a lower bound for its index from it (:func:`comparisons`, :func:`lower_bound`).
    """

    name: str
    get: Callable[[Mapping[str, Any]], Any]
    operator: str
    bound: float

    def __call__(self, item: Mapping[str, Any]) -> bool:
        """Whether ``item`` passes."""
        return self.holds(self.get(item))

    def holds(self, value: Any) -> bool:
        """Whether an item whose field is ``value`` passes."""
        return isinstance(value, (int, float)) and _COMPARISONS[self.operator](value, self.bound)


@dataclass(frozen=True)
class ListQuery:
    """A parsed list request."""

    limit: int
    cursor: str
    predicates: tuple[Predicate, ...]
    order: tuple[tuple[str, bool], ...]
    count: bool


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, the cursor of the next page (if full), and the filtered total."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int


def query_value(params: Sequence[tuple[str, str]], name: str) -> str | None:
    """A query parameter as Express hands it over: repeated values joined with commas."""
    values = [value for key, value in params if key == name]
    return ",".join(values) if values else None


def parse_limit(value: str | None) -> int:
    """``limit`` as the server reads it (``parseInt``, default 20, at most 1000)."""
    match = _PARSE_INT.match(value or "")
    limit = int(match.group(1)) if match else DEFAULT_LIMIT
    if limit < 1:
        limit = DEFAULT_LIMIT
    return min(limit, MAX_LIMIT)


def parse_filters(raw: str | None, fields: Mapping[str, ListField]) -> tuple[Predicate, ...]:
    """Turn ``filters`` into predicates.

    :raises ApiError: 400 ``error parsing filters: ...`` for anything the server rejects.
    """
    if not raw:
        return ()
    try:
        return tuple(_parse_filters(unquote(raw), fields))
    except ValueError as err:
        raise ApiError(400, f"error parsing filters: Error: {err}") from None


def _parse_filters(text: str, fields: Mapping[str, ListField]) -> list[Predicate]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ValueError(f"filters are not valid JSON: {err}") from None
    if not isinstance(data, list):
        raise ValueError("must be an array")
    predicates: list[Predicate] = []
    for item in data:
        if not isinstance(item, dict):
            raise ValueError(f"each filter must be an object, got: {json.dumps(item)}")
        if "value" not in item:
            raise ValueError(f'missing filter value for id "{item.get("id")}"')
        name, value = item.get("id"), item["value"]
        field = fields.get(name) if isinstance(name, str) else None
        if field is None:
            raise ValueError(f'unknown field: "{name}"')
        predicates.extend(_predicates(field, str(name), value))
    return predicates


def _predicates(field: ListField, name: str, value: Any) -> list[Predicate]:
    get = field.get
    if field.kind == "text":
        needle = str(value).lower()
        return [lambda item: isinstance(get(item), str) and needle in get(item).lower()]
    if field.kind == "int":
        if isinstance(value, dict):
            predicates: list[Predicate] = []
            for key, bound in value.items():
                if key not in _COMPARISONS:
                    raise ValueError(f'unknown comparison: "{key}"')
                predicates.append(Comparison(name, get, key, _number(name, bound)))
            return predicates
        number = _number(name, value)
        return [lambda item: get(item) == number]
    # A plain field compares the stored text with the value as the database would see it.
    wanted = value if isinstance(value, str) else json.dumps(value)
    return [lambda item: get(item) is not None and str(get(item)) == wanted]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f'expected a number for field "{name}", got: {json.dumps(value)}')
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f'expected a number for field "{name}", got: {json.dumps(value)}')


def parse_order(raw: str | None, fields: Mapping[str, ListField]) -> tuple[tuple[str, bool], ...]:
    """``order`` as ``((field, descending), ...)``; unknown parts skipped, nothing usable means ``id`` asc."""
    order: list[tuple[str, bool]] = []
    for part in (raw or DEFAULT_ORDER).split(","):
        pieces = part.split("-")
        if len(pieces) == 2 and pieces[0] in fields:
            order.append((pieces[0], pieces[1] == "true"))
    return tuple(order) or (("id", False),)


def parse_query(params: Sequence[tuple[str, str]], fields: Mapping[str, ListField]) -> ListQuery:
    """Read a list request's query.

    :raises ApiError: 400 for bad ``filters`` or a malformed ``skip`` cursor.
    """
    cursor = query_value(params, "cursor") or ""
    if "skip" in cursor and not cursor.replace("skip", "", 1).isdigit():
        raise ApiError(400, f"invalid cursor {cursor!r}")
    return ListQuery(
        limit=parse_limit(query_value(params, "limit")),
        cursor=cursor,
        predicates=parse_filters(query_value(params, "filters"), fields),
        order=parse_order(query_value(params, "order") or None, fields),
        count=bool(query_value(params, "count")),
    )


def paginate(
    items: Sequence[dict[str, Any]],
    query: ListQuery,
    fields: Mapping[str, ListField],
    extra: Sequence[Predicate] = (),
) -> Page:
    """Filter, order and cut one page out of ``items``; ties in the order come as the module says.

    :param extra: more predicates (e.g. the asset list's ``phase=...`` shortcuts).
    """
    predicates = (*query.predicates, *extra)
    rows = [item for item in items if all(predicate(item) for predicate in predicates)]
    offset = 0
    if query.cursor and "skip" in query.cursor:
        offset = int(query.cursor.replace("skip", "", 1))
    elif query.cursor:
        rows = [item for item in rows if str(item.get("id", "")) > query.cursor]
    page = _page(rows, query.order, fields, offset, query.limit)
    next_cursor = f"skip{offset + query.limit}" if len(page) == query.limit else None
    return Page(items=page, next_cursor=next_cursor, total=len(rows))


def comparisons(query: ListQuery, name: str) -> tuple[tuple[Comparison, ...], ListQuery]:
    """The query's comparisons on the integer field ``name``, and the query without them."""
    found = tuple(p for p in query.predicates if isinstance(p, Comparison) and p.name == name)
    rest = tuple(p for p in query.predicates if not any(p is comparison for comparison in found))
    return found, dataclasses.replace(query, predicates=rest)


def lower_bound(found: Sequence[Comparison]) -> float | None:
    """A number the integer field is above in every item that passes comparisons on it, or ``None``.

    It comes from the ``gt`` and ``gte`` comparisons: ``gte`` n keeps integers above n - 1.
    """
    bounds = [c.bound - (c.operator == "gte") for c in found if c.operator in ("gt", "gte")]
    return max(bounds, default=None)


def _page(
    rows: list[dict[str, Any]],
    order: Sequence[tuple[str, bool]],
    fields: Mapping[str, ListField],
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The rows from ``offset`` to ``offset + limit`` in ``order``.

    Rows that tie on every field come by a hash of their id and the page's end (see the module docs).
    Rows are sorted by keys, one stable pass per field from the last (reversed passes are stable too),
    and ties are only broken where they reach into the page: the same page as from sorting by a
    comparison function, at a fraction of its cost and with a few objects per row, not several (a list
    of thousands would otherwise set the pace, and fill the garbage collector's oldest generation).
    """
    positions = list(range(len(rows)))
    columns: list[list[Any]] = []  # every key the order compares, to tell ties
    for name, descending in reversed(order):
        field = fields[name]
        values = list(map(field.get, rows))
        keys: list[Any]
        if field.kind == "int":
            # The server orders integer fields by coalesce(value, 0).
            keys = [value if isinstance(value, (int, float)) else 0 for value in values]
            positions.sort(key=keys.__getitem__, reverse=descending)
            columns.append(keys)
        else:
            keys = ["" if value is None else str(value) for value in values]
            nulls = [value is None for value in values]
            positions.sort(key=keys.__getitem__, reverse=descending)
            positions.sort(key=nulls.__getitem__)  # text fields sort NULLS LAST in both directions
            columns += [keys, nulls]

    def tied(a: int, b: int) -> bool:
        return all(column[a] == column[b] for column in columns)

    window = offset + limit

    def tie_key(position: int) -> bytes:
        return hashlib.blake2b(f"{window}:{rows[position].get('id')}".encode(), digest_size=8).digest()

    # The page, widened to whole runs of tied rows; each run is then ordered by the tie hash.
    start, end = min(offset, len(rows)), min(window, len(rows))
    while 0 < start < len(rows) and tied(positions[start - 1], positions[start]):
        start -= 1
    while 0 < end < len(rows) and tied(positions[end - 1], positions[end]):
        end += 1
    ordered: list[int] = []
    run: list[int] = []
    for position in positions[start:end]:
        if run and not tied(run[-1], position):
            ordered += sorted(run, key=tie_key)
            run = []
        run.append(position)
    ordered += sorted(run, key=tie_key)
    return [rows[position] for position in ordered[offset - start : window - start]]


def next_link(url: str, query_string: str, cursor: str) -> str:
    """The request's URL with ``cursor`` set, as Express's ``makeNextHREF`` builds it."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    replaced = False
    updated: list[tuple[str, str]] = []
    for key, value in pairs:
        if key == "cursor":
            if not replaced:
                updated.append((key, cursor))
                replaced = True
            continue
        updated.append((key, value))
    if not replaced:
        updated.append(("cursor", cursor))
    base = url.split("?", 1)[0]
    return f"{base}?{urlencode(updated, quote_via=quote_plus, safe='*')}"
