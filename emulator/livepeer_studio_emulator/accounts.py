"""Accounts and authentication: one account per API key, as Livepeer's ``Authorization: Bearer KEY``.

User and project ids are derived from the API key, so a state file needs no keys to be reloaded.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable

from pydantic import ConfigDict, field_serializer

from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.shapes import CamelModel

#: The API key used when none is given and ``LIVEPEER_EMULATOR_API_KEY`` is unset.
DEFAULT_API_KEY = "emulator-key"
#: Environment variable with the API key(s) to accept (comma-separated) when none are given.
API_KEY_ENV = "LIVEPEER_EMULATOR_API_KEY"
_ID_NAMESPACE = uuid.UUID("5f1d3a56-0c55-4b8e-9a55-6c6976657065")


def default_api_keys() -> list[str]:
    """The keys from ``LIVEPEER_EMULATOR_API_KEY`` (comma-separated), else ``[DEFAULT_API_KEY]``."""
    keys = [key.strip() for key in os.environ.get(API_KEY_ENV, "").split(",") if key.strip()]
    return keys or [DEFAULT_API_KEY]


def mask_key(api_key: str) -> str:
    """An API key shortened so it can be logged: its first 4 characters at most, then ``****``."""
    shown = api_key[:4] if len(api_key) >= 12 else api_key[:2] if len(api_key) >= 6 else ""
    return f"{shown}****"


class Account(CamelModel):
    """One API key's account: its user id and project. Its JSON (admin API) shows the key masked.

    :param cors: a CORS-enabled key with restricted access (a browser key), which may call only a few
        endpoints (see :func:`cors_allows`).
    """

    model_config = ConfigDict(frozen=True)

    user_id: str
    project_id: str
    api_key: str
    cors: bool = False

    @field_serializer("api_key")
    def _masked(self, api_key: str) -> str:
        return mask_key(api_key)

    @classmethod
    def for_key(cls, api_key: str) -> Account:
        """The account of an API key; the same key always gets the same ids."""
        if not api_key or any(ch.isspace() for ch in api_key):
            raise ValueError("An emulator API key must be a non-empty string without spaces.")
        return cls(
            api_key=api_key,
            user_id=str(uuid.uuid5(_ID_NAMESPACE, f"user:{api_key}")),
            project_id=str(uuid.uuid5(_ID_NAMESPACE, f"project:{api_key}")),
        )

    @classmethod
    def for_project_key(cls, api_key: str, user: Account) -> Account:
        """A key of another project of ``user``: same user, a project of its own (not the default)."""
        own = cls.for_key(api_key)
        return cls(api_key=api_key, user_id=user.user_id, project_id=own.project_id)


#: What a CORS-enabled key with restricted access may call (Livepeer's ``middleware/auth.ts``): method
#: and path pattern, ``*`` for one path segment.
CORS_ALLOWED = (
    ("GET", "/api/task/*"),
    ("GET", "/api/asset/*"),
    ("PATCH", "/api/asset/*"),
    ("POST", "/api/asset/upload/url"),
    ("POST", "/api/asset/request-upload"),
    ("POST", "/api/asset/*/export"),
)


def cors_allows(method: str, path: str) -> bool:
    """Whether a CORS-enabled key with restricted access may call ``method path``."""
    parts = path.rstrip("/").split("/")
    return any(
        method == allowed_method
        and len(pattern := allowed.split("/")) == len(parts)
        and all(p in ("*", part) for p, part in zip(pattern, parts, strict=True))
        for allowed_method, allowed in CORS_ALLOWED
    )


class Accounts:
    """The accepted API keys and their accounts, the main one first; thread-safe.

    :param api_keys: at least one key.
    :raises ValueError: no key, or a malformed one.
    """

    def __init__(self, api_keys: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Account] = {}
        for key in api_keys:
            self.add(key)
        if not self._by_key:
            raise ValueError("The emulator needs at least one API key.")

    def add(self, api_key: str, project_of: str | None = None, *, cors_key_of: str | None = None) -> Account:
        """Accept another API key; adding a known key returns its account.

        :param project_of: make the key one of a non-default project of this key's user (Livepeer's
            projects: the user's tasks without an asset belong to its default project, so such a key's
            task list never shows its ``transcode-file`` tasks). Without it, a separate user.
        :param cors_key_of: make it a CORS-enabled key with restricted access (a browser key, see
            :func:`cors_allows`) of this key's user and project.
        :raises KeyError: ``project_of`` or ``cors_key_of`` is not a known key.
        """
        with self._lock:
            if cors_key_of is not None:
                owner = self._by_key[cors_key_of]
                account = owner.model_copy(update={"api_key": Account.for_key(api_key).api_key, "cors": True})
            elif project_of is None:
                account = Account.for_key(api_key)
            else:
                account = Account.for_project_key(api_key, self._by_key[project_of])
            return self._by_key.setdefault(api_key, account)

    def all(self) -> list[Account]:
        """The accounts, the main one first."""
        with self._lock:
            return list(self._by_key.values())

    def get(self, api_key: str | None = None) -> Account:
        """The account of a key (the main one by default).

        :raises KeyError: unknown key.
        """
        with self._lock:
            if api_key is None:
                return next(iter(self._by_key.values()))
            return self._by_key[api_key]

    def default_project(self, user_id: str) -> str:
        """A user's default project: that of its first key (a key made with ``project_of`` never is)."""
        with self._lock:
            return next(a.project_id for a in self._by_key.values() if a.user_id == user_id)

    def authenticate(self, authorization: str | None, method: str, path: str) -> Account:
        """The account of an ``Authorization: Bearer KEY`` header, allowed to call ``method path``.

        :raises ApiError: 401 with Livepeer's messages (an unknown key is echoed, as Livepeer does); 403
            for an endpoint a CORS-enabled key with restricted access may not call.
        """
        if not authorization:
            raise ApiError(401, "request is not authenticated")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(401, f"unsupported authorization header scheme: {scheme}")
        token = token.strip()
        if not token:
            raise ApiError(401, "no authorization token provided")
        with self._lock:
            account = self._by_key.get(token)
        if account is None:
            raise ApiError(401, f"no token {token} found")
        if account.cors and not cors_allows(method, path):
            raise ApiError(403, "access forbidden for CORS-enabled API key with restricted access")
        return account
