"""A ``livepeer`` connection read into the :class:`~airflow_provider_livepeer.http.HttpClient` it describes.

Read once per hook, from the connection and the environment:

* the API's base URL: the connection's host (default ``https://livepeer.studio``), port and schema;
* the API key (the password) and the read timeout (the ``read_timeout`` extra, else 30 s);
* TLS: the ``verify`` extra: on (the default), off, or the path of a CA bundle (a file, or a folder of
  hashed certificates). When on, requests reads the environment for a CA bundle (``REQUESTS_CA_BUNDLE``,
  ``CURL_CA_BUNDLE``), else certifi's bundle is used;
* the proxy requests reads from the environment for the API's URL (``HTTPS_PROXY``, ``HTTP_PROXY``,
  ``ALL_PROXY``, ``NO_PROXY``).

Both clients, requests (sync) and aiohttp (async), take the environment as requests reads it
(:func:`environment_settings`), once per hook.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

import certifi
import requests
from airflow.providers.common.compat.sdk import Connection, mask_secret

from airflow_provider_livepeer.connection_form import READ_TIMEOUT_MINIMUM
from airflow_provider_livepeer.exceptions import LivepeerError
from airflow_provider_livepeer.http import HttpClient, Logger, RetrySettings, request_headers
from airflow_provider_livepeer.validation import finite_number

DEFAULT_HOST = "https://livepeer.studio"
DEFAULT_READ_TIMEOUT = 30.0
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def http_client(
    conn: Connection,
    conn_id: str,
    *,
    connect_timeout: float,
    read_timeout: float | None,
    retry_settings: RetrySettings,
    log: Logger,
) -> HttpClient:
    """The client of a ``livepeer`` connection (and the environment).

    :param conn: the connection.
    :param conn_id: its id, for messages.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param read_timeout: seconds to wait for an answer; ``None``: the connection's ``read_timeout``
        extra, else 30.
    :param retry_settings: how transient failures are retried.
    :param log: where retries, and turning certificate checks off, are announced.
    :raises LivepeerError: the connection has no API key.
    :raises ValueError: an extra is invalid.
    """
    api_key = (conn.password or "").strip()
    if not api_key:
        raise LivepeerError(
            f"Connection {conn_id!r} has no Livepeer API key: set its password "
            "(the 'API key' field) to a key from Livepeer Studio's developer settings."
        )
    mask_secret(api_key)
    extra = conn.extra_dejson
    if read_timeout is None:
        read_timeout = DEFAULT_READ_TIMEOUT
        if extra.get("read_timeout") not in (None, ""):
            read_timeout = finite_number(
                extra["read_timeout"], f"read_timeout of connection {conn_id!r}", READ_TIMEOUT_MINIMUM
            )
    base_url = api_base_url(conn.host, conn.port, conn.schema)
    verify = verify_setting(extra.get("verify"), conn_id)
    if verify is False:
        log.warning(
            "Connection %s: TLS certificates are not checked (verify is false): anyone on the network "
            "path could read the API key",
            conn_id,
        )
    proxy, bundle = environment_settings(base_url, verify)
    return HttpClient(
        base_url,
        request_headers(api_key),
        connect_timeout,
        read_timeout,
        retry_settings,
        log,
        bundle,
        proxy=proxy,
    )


def verify_setting(value: object, conn_id: str) -> bool | str:
    """The ``verify`` extra: ``True``, ``False`` or a CA bundle path (the UI and templates give strings).

    Empty or absent means ``True``.

    :raises ValueError: neither a boolean word nor the path of an existing file or folder.
    """
    if value is None or isinstance(value, bool):
        return value is not False
    if isinstance(value, str):
        word = value.strip()
        if not word or word.lower() in _TRUE:
            return True
        if word.lower() in _FALSE:
            return False
        if os.path.exists(os.path.expanduser(word)):
            return os.path.expanduser(word)
    raise ValueError(
        f"Invalid verify of connection {conn_id!r} {value!r}: expected true, false, or the path of a "
        "CA bundle that exists on this machine."
    )


def environment_settings(base_url: str, verify: bool | str) -> tuple[str | None, str | None]:
    """The proxy and the CA bundle for the API's URL, as requests reads them from the environment.

    Read by requests itself (``merge_environment_settings``, its ``trust_env`` reading), once per hook,
    and handed to both clients with their own reading of the environment off. aiohttp's ``trust_env``
    reads the proxy variables and ``.netrc`` in worker threads on every request: 0.535 ms of CPU per read
    against 0.162 ms without, which is 1.2% of the triggerer's CPU per interval at 1000 shared-polling
    waits but 39.7% at 1000 waits polling their own tasks (``shared_polling=False``, 399 requests per
    interval): ``bench/results/http-client.md``. requests' own reading costs a sixth of a poke's CPU.

    :param verify: the connection's ``verify`` extra (:func:`verify_setting`): it outranks the environment.
    :returns: the proxy (``None``: none), and the CA bundle certificates are checked against (``None``:
        not checked).
    :raises ValueError: the CA bundle the environment names does not exist (checked here, so both
        clients fail alike, before anything is sent).
    """
    with requests.Session() as session:
        settings = session.merge_environment_settings(base_url, {}, None, None, None)
    proxy = requests.utils.select_proxy(base_url, settings["proxies"])
    if verify is not True:  # the extra outranks the environment: a bundle (checked), or no checks
        return proxy, verify or None
    bundle = settings["verify"]  # the session's True, or the path the environment names
    if not isinstance(bundle, str):
        return proxy, certifi.where()  # requests' own default
    if not os.path.exists(bundle):
        raise ValueError(
            f"Invalid CA bundle {bundle!r} in the environment (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE): "
            "expected the path of a CA bundle (a file, or a folder of hashed certificates) that exists on "
            "this machine."
        )
    return proxy, bundle


def api_base_url(host: str | None, port: int | None = None, schema: str | None = None) -> str:
    """Turn a connection's host, port and schema into the API's base URL, ``<scheme>://<host>[:port]/api``.

    A host without a scheme gets ``https://``, or ``http://`` when it is a loopback address (a local
    emulator, as in the URI form ``livepeer://:KEY@127.0.0.1:3000``); one that already ends in ``/api``
    is kept as it is. Plain ``http://`` is only allowed for loopback addresses (the emulator, local
    tests), so the API key never crosses a network in clear text. The connection's port and schema (what
    Airflow makes of ``livepeer://:KEY@host:PORT/SCHEMA``) join the host as its port and path.

    :param host: the connection's host; empty means Livepeer Studio.
    :param port: the connection's port, if any.
    :param schema: the connection's schema, if any: a path before ``/api``.
    :raises ValueError: the host is malformed, plain http to a non-loopback address, or its own port or
        path disagrees with the connection's port or schema.
    """
    raw = (host or "").strip() or DEFAULT_HOST
    if "://" not in raw:
        bare_hostname = urlsplit(f"//{raw}").hostname
        raw = f"{'http' if bare_hostname and _is_loopback(bare_hostname) else 'https'}://{raw}"
    parts = urlsplit(raw)
    try:
        hostname, host_port = parts.hostname, parts.port
    except ValueError as err:
        raise ValueError(f"Invalid Livepeer API host {host!r}: {err}.") from None
    if parts.scheme not in {"http", "https"} or not hostname or parts.query or parts.fragment:
        raise ValueError(
            f"Invalid Livepeer API host {host!r}: expected https://HOST[:PORT] such as {DEFAULT_HOST}."
        )
    if parts.scheme == "http" and not _is_loopback(hostname):
        raise ValueError(
            f"Refusing plain http:// Livepeer API host {host!r}: the API key would cross the network in "
            "clear text. Use https://, or a loopback address (127.0.0.1, localhost) for a local emulator."
        )
    netloc = parts.netloc
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"Invalid Livepeer API port {port!r}: expected an integer from 1 to 65535.")
        if host_port not in (None, port):
            raise ValueError(
                f"Livepeer API host {host!r} names port {host_port} but the connection's port is {port}: "
                "give the port in one place."
            )
        netloc = netloc if host_port else f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if schema and schema.strip("/"):
        if path:
            raise ValueError(
                f"Livepeer API host {host!r} has a path and the connection has a schema {schema!r}: "
                "give the path in one place."
            )
        path = f"/{schema.strip('/')}"
    if not path.endswith("/api"):
        path = f"{path}/api"
    return f"{parts.scheme}://{netloc}{path}"


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
