"""Both clients check TLS certificates alike, on a loopback HTTPS server with a certificate from a test CA.

The sync client (requests) and the async one (aiohttp) accept the server when told to trust that CA
(the connection's ``verify`` extra, or a CA environment variable), both refuse it otherwise (certifi's
bundle does not hold the test CA), and both accept it with ``verify`` false.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest
import trustme
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.exceptions import LivepeerCertificateError, LivepeerConnectionError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.http import is_retryable
from tests.support.tasks import task_json

#: The environment variables requests reads a CA bundle from (both clients take what it reads).
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture(scope="module")
def test_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(test_ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "test-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def https_server(test_ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/api/task/t1").respond_with_json(task_json())
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CA bundle or proxy from the machine's environment: each test sets what it means."""
    for name in (*CA_BUNDLE_VARIABLES, "SSL_CERT_FILE", *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def connect(https_server: HTTPServer, livepeer_connection: Callable[..., str]) -> Callable[..., str]:
    def define(**extra: object) -> str:
        url = https_server.url_for("/").rstrip("/")
        assert url.startswith("https://127.0.0.1:")
        return livepeer_connection(url, **extra)

    return define


async def read_with_both_clients(conn_id: str) -> list[Any]:
    """What ``get_task`` and ``aget_task`` give: the task's phase, or the error raised."""
    answers: list[Any] = []
    async with LivepeerHook(conn_id, max_attempts=1) as hook:
        try:
            answers.append(hook.get_task("t1").phase)
        except LivepeerConnectionError as err:
            answers.append(err)
        try:
            answers.append((await hook.aget_task("t1")).phase)
        except LivepeerConnectionError as err:
            answers.append(err)
    return answers


async def test_both_clients_trust_the_ca_of_the_verify_extra(
    connect: Callable[..., str], ca_file: str, https_server: HTTPServer
) -> None:
    assert await read_with_both_clients(connect(verify=ca_file)) == ["running", "running"]
    assert len(https_server.log) == 2


@pytest.mark.parametrize("variable", CA_BUNDLE_VARIABLES)
async def test_both_clients_trust_the_ca_of_the_environment(
    connect: Callable[..., str], ca_file: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, ca_file)
    assert await read_with_both_clients(connect()) == ["running", "running"]
    # Read anew by every hook, not once per process: without it, the next hook refuses the server.
    monkeypatch.delenv(variable)
    assert all(
        isinstance(answer, LivepeerCertificateError) for answer in await read_with_both_clients(connect())
    )


async def test_ssl_cert_file_is_not_read_by_either_client(
    connect: Callable[..., str], ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # OpenSSL's variable: requests does not read it
    answers = await read_with_both_clients(connect())
    assert all(isinstance(answer, LivepeerCertificateError) for answer in answers), answers


async def test_the_verify_extra_outranks_the_environment(
    connect: Callable[..., str], ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    answers = await read_with_both_clients(connect(verify=certifi.where()))  # without the test CA
    assert all(isinstance(answer, LivepeerCertificateError) for answer in answers), answers


async def test_both_clients_refuse_a_server_of_an_unknown_ca(
    connect: Callable[..., str], https_server: HTTPServer
) -> None:
    answers = await read_with_both_clients(connect())
    assert len(answers) == 2
    for answer in answers:
        assert isinstance(answer, LivepeerCertificateError), answer
        message = str(answer)
        assert "GET /api/task/t1 got no answer: the server's TLS certificate was refused" in message
        assert "verify extra" in message and "REQUESTS_CA_BUNDLE" in message
        assert answer.request_sent is False  # refused before anything was sent: safe to send again
    assert https_server.log == []


async def test_a_refused_certificate_fails_at_once_without_retries(
    connect: Callable[..., str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    conn_id = connect()
    # Retries allowed: a refused certificate skips them all, and no retry is announced.
    async with LivepeerHook(conn_id, max_attempts=5, backoff_initial=2.0) as hook:
        with caplog.at_level(logging.WARNING):
            with pytest.raises(LivepeerCertificateError) as refused:
                hook.get_task("t1")
            with pytest.raises(LivepeerCertificateError):
                await hook.aget_task("t1")
    # Airflow 3 prints the hook's log lines (structlog); Airflow 2 hands them to logging.
    logged = capsys.readouterr().out + "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /api/task/t1 failed" not in logged and "retrying in" not in logged
    assert not is_retryable(refused.value)
    assert refused.value.request_sent is False


@pytest.mark.parametrize("verify", [False, "false", " False ", "no", "0"])
async def test_verify_false_accepts_any_certificate_with_one_warning(
    connect: Callable[..., str], capfd: pytest.CaptureFixture[str], verify: object
) -> None:
    assert await read_with_both_clients(connect(verify=verify)) == ["running", "running"]
    assert capfd.readouterr().out.count("TLS certificates are not checked (verify is false)") == 1


@pytest.mark.parametrize("verify", [True, "true", "", None])
async def test_verify_true_or_unset_checks_against_the_default_bundle(
    connect: Callable[..., str], verify: object
) -> None:
    answers = await read_with_both_clients(connect(verify=verify))
    assert all(isinstance(answer, LivepeerCertificateError) for answer in answers), answers


@pytest.mark.parametrize("verify", ["/no/such/ca.pem", "maybe", 3])
def test_a_bad_verify_extra_is_a_clear_error(connect: Callable[..., str], verify: object) -> None:
    with pytest.raises(
        ValueError, match=f"Invalid verify of connection 'livepeer_test' {verify!r}: expected"
    ):
        LivepeerHook(connect(verify=verify)).get_task("t1")


@pytest.mark.parametrize("variable", CA_BUNDLE_VARIABLES)
async def test_a_ca_variable_naming_no_file_is_the_same_clear_error_on_both_clients(
    connect: Callable[..., str],
    https_server: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
) -> None:
    missing = str(tmp_path / "rotated-away.pem")
    monkeypatch.setenv(variable, missing)
    conn_id = connect()
    expected = (
        f"Invalid CA bundle {missing!r} in the environment (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE): "
        "expected the path of a CA bundle"
    )
    async with LivepeerHook(conn_id, max_attempts=1) as hook:
        with pytest.raises(ValueError, match=re.escape(expected)):
            hook.get_task("t1")
    async with LivepeerHook(conn_id, max_attempts=1) as hook:
        with pytest.raises(ValueError, match=re.escape(expected)):
            await hook.aget_task("t1")
    assert https_server.log == []


async def test_a_replaced_ca_bundle_is_read_anew_by_the_next_hook(
    connect: Callable[..., str], test_ca: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "rotating-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))  # another CA: the server's certificate is refused
    conn_id = connect(verify=str(bundle))
    answers = await read_with_both_clients(conn_id)
    assert all(isinstance(answer, LivepeerCertificateError) for answer in answers), answers
    # Rotated as deployment tools do: the new bundle written beside the old one, then moved over it.
    replacement = tmp_path / "rotating-ca.pem.new"
    test_ca.cert_pem.write_to_path(str(replacement))
    os.replace(replacement, bundle)
    assert await read_with_both_clients(conn_id) == ["running", "running"]
