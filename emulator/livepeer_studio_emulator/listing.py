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
import itertools
import json
import operator
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
            if not isinstance(value, Mapping):
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
    window = offset + query.limit
    page = _ordered(rows, query.order, fields, window)[offset:window]
    next_cursor = f"skip{window}" if len(page) == query.limit else None
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


def _ordered(
    rows: list[dict[str, Any]],
    order: Sequence[tuple[str, bool]],
    fields: Mapping[str, ListField],
    window: int,
) -> list[dict[str, Any]]:
    """``rows`` in ``order``; rows that tie on every field by a hash of their id and the page's end.

    Sorted by keys, one stable pass per field from the last (reversed passes are stable too): the same
    order as comparing field by field, at a fraction of the cost of a comparison function, which would
    set the pace of a list of thousands.
    """
    keys = [list(map(_key_of(fields[name], descending), rows)) for name, descending in order]
    # (key of each field, ..., row)
    keyed = list(zip(*keys, rows, strict=True))
    for position in reversed(range(len(order))):
        keyed.sort(key=operator.itemgetter(position), reverse=order[position][1])

    def tie_key(row: dict[str, Any]) -> bytes:
        return hashlib.blake2b(f"{window}:{row.get('id')}".encode(), digest_size=8).digest()

    ordered: list[dict[str, Any]] = []
    for _, group in itertools.groupby(keyed, key=operator.itemgetter(slice(0, len(order)))):
        tied = [entry[-1] for entry in group]
        ordered.extend(sorted(tied, key=tie_key) if len(tied) > 1 else tied)
    return ordered


def _key_of(field: ListField, descending: bool) -> Callable[[dict[str, Any]], Any]:
    """A row's sort key in an order by ``field``, the direction's reversal left to the sort."""
    get = field.get
    if field.kind == "int":

        def number(row: dict[str, Any]) -> Any:
            # The server orders integer fields by coalesce(value, 0).
            value = get(row)
            return value if isinstance(value, (int, float)) else 0

        return number

    def text(row: dict[str, Any]) -> tuple[bool, str]:
        # Text fields sort NULLS LAST in both directions: a null gets the key its direction puts last.
        value = get(row)
        return (not descending, "") if value is None else (descending, str(value))

    return text


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
