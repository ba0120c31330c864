"""A 422's ``errors`` as Livepeer's JSON-schema validator (ajv 8) writes them, from a pydantic error.

Livepeer answers an invalid body with ajv's error objects, each as a JSON string: ``instancePath`` (a JSON
pointer), ``schemaPath``, ``keyword``, ``params`` and a ``message`` such as ``must have required property
'url'``. ajv stops at the first error: it checks an object's ``required``, then its
``additionalProperties``, then each property in turn, so shallower problems come first. A ``oneOf`` that
no branch matches reports the first error of each branch, then its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

# pydantic prefixes the location of an error inside a union with the branch: a model's class name, or a
# type tag such as ``str`` or ``dict[str,any]``. Request fields are camelCase words, never these.
_UNION_TAG = re.compile(
    r"^([A-Z][A-Za-z0-9]*|str|int|float|bool|none|(dict|list|constrained-\w+|function-\w+)\[?.*)$"
)
# pydantic's type errors as the JSON types ajv names.
_TYPE_NAMES = {
    "string_type": "string",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "list_type": "array",
}
# pydantic's bound errors: ajv's keyword, its comparison, and pydantic's name of the limit.
_BOUNDS = {
    "greater_than_equal": ("minimum", ">=", "ge"),
    "greater_than": ("exclusiveMinimum", ">", "gt"),
    "less_than_equal": ("maximum", "<=", "le"),
    "less_than": ("exclusiveMaximum", "<", "lt"),
}
_LENGTHS = {"string_too_short": ("minLength", "fewer"), "string_too_long": ("maxLength", "more")}
_MISSING, _EXTRA = "missing", "extra_forbidden"


@dataclass(frozen=True)
class _Problem:
    """One pydantic error: where (union branches left out), what, and in which union branch."""

    path: tuple[str | int, ...]
    kind: str
    ctx: dict[str, Any]
    message: str
    union_at: int | None
    branch: str | None

    @classmethod
    def of(cls, error: Any) -> _Problem:
        path: list[str | int] = []
        union_at: int | None = None
        branch: str | None = None
        for part in error["loc"]:
            if not _UNION_TAG.match(str(part)):
                path.append(part)
            elif union_at is None:
                union_at, branch = len(path), str(part)
        return cls(tuple(path), error["type"], error.get("ctx") or {}, str(error["msg"]), union_at, branch)

    @property
    def owner(self) -> tuple[str | int, ...]:
        """The instance the keyword applies to: the object, for a missing or an additional property."""
        return self.path[:-1] if self.kind in (_MISSING, _EXTRA) else self.path

    def order(self) -> tuple[int, int]:
        """When ajv meets this problem, relative to others (a failed union counts as its value's)."""
        return (self.union_at, 2) if self.union_at is not None else self.order_in_branch()

    def order_in_branch(self) -> tuple[int, int]:
        """When ajv meets this problem, among the problems of its union branch (or of the body)."""
        return (len(self.owner), {_MISSING: 0, _EXTRA: 1}.get(self.kind, 2))

    def ajv(self, branch_index: int | None = None) -> dict[str, Any]:
        """The ajv error object; ``branch_index``: the ``oneOf`` branch this problem is in."""
        owner = self.owner
        if branch_index is None or self.union_at is None:
            schema = ["#", *_schema_path(owner)]
        else:
            before, after = owner[: self.union_at], owner[self.union_at :]
            schema = ["#", *_schema_path(before), "oneOf", str(branch_index), *_schema_path(after)]
        keyword, params, message = self._described()
        return {
            "instancePath": _pointer(owner),
            "schemaPath": "/".join([*schema, keyword]),
            "keyword": keyword,
            "params": params,
            "message": message,
        }

    def _described(self) -> tuple[str, dict[str, Any], str]:
        kind, ctx = self.kind, self.ctx
        if kind == _MISSING:
            return (
                "required",
                {"missingProperty": self.path[-1]},
                f"must have required property '{self.path[-1]}'",
            )
        if kind == _EXTRA:
            return (
                "additionalProperties",
                {"additionalProperty": self.path[-1]},
                "must NOT have additional properties",
            )
        if kind in _TYPE_NAMES:
            return "type", {"type": _TYPE_NAMES[kind]}, f"must be {_TYPE_NAMES[kind]}"
        if kind in _BOUNDS:
            keyword, comparison, key = _BOUNDS[kind]
            limit = ctx.get(key)
            return keyword, {"comparison": comparison, "limit": limit}, f"must be {comparison} {limit}"
        if kind in _LENGTHS:
            keyword, than = _LENGTHS[kind]
            limit = ctx.get("min_length" if than == "fewer" else "max_length")
            return keyword, {"limit": limit}, f"must NOT have {than} than {limit} characters"
        if kind == "string_pattern_mismatch":
            pattern = ctx.get("pattern")
            return "pattern", {"pattern": pattern}, f'must match pattern "{pattern}"'
        if kind == "literal_error":
            allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            return "enum", {"allowedValues": allowed}, "must be equal to one of the allowed values"
        return kind, {}, self.message


def validation_messages(err: ValidationError) -> list[str]:
    """The ajv error objects Livepeer would send for ``err``, each as a JSON string."""
    problems = [_Problem.of(error) for error in err.errors()]
    first = min(problems, key=_Problem.order)
    if first.union_at is None:
        return [_encoded(first.ajv())]
    # Every branch of that union failed: the first error of each, in the union's order, then oneOf's.
    at = first.path[: first.union_at]
    branches: dict[str, _Problem] = {}
    for problem in problems:
        if problem.union_at == first.union_at and problem.path[: first.union_at] == at and problem.branch:
            known = branches.get(problem.branch)
            if known is None or problem.order_in_branch() < known.order_in_branch():
                branches[problem.branch] = problem
    errors = [problem.ajv(index) for index, problem in enumerate(branches.values())]
    errors.append(
        {
            "instancePath": _pointer(at),
            "schemaPath": "/".join(["#", *_schema_path(at), "oneOf"]),
            "keyword": "oneOf",
            "params": {"passingSchemas": None},
            "message": "must match exactly one schema in oneOf",
        }
    )
    return [_encoded(error) for error in errors]


def _schema_path(path: tuple[str | int, ...]) -> list[str]:
    """The schema keywords leading to ``path`` in a (dereferenced) schema."""
    parts: list[str] = []
    for part in path:
        parts += ["items"] if isinstance(part, int) else ["properties", str(part)]
    return parts


def _pointer(path: tuple[str | int, ...]) -> str:
    """A JSON pointer, as ajv's ``instancePath``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _encoded(error: dict[str, Any]) -> str:
    return json.dumps(error, separators=(",", ":"))
