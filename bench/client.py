"""Benchmark 4: the async client of the trigger path, httpx against aiohttp, and the cost of list parsing.

* CPU per ``GET /api/task/{id}`` through each client, configured as the hook configures its one client
  (the same certificate-checking TLS context, headers and timeouts), the body decoded and parsed into a
  ``Task`` as the hook does; one request at a time, and 8 in flight (the shared watcher's direct reads).
  ``LivepeerHook.aget_task`` itself (aiohttp, with the tenacity retry wrapper) is measured beside them.
* The same reads through aiohttp with its reading of the environment off (``trust_env=False``, the proxy
  and CA bundle read once per hook instead, as the hook does): what ``trust_env`` costs per request.
* CPU per list page of 1000 tasks (``GET /api/task?limit=1000``) through each client, body read only.
* Parsing a page per task: ``json.loads``, then ``parse(Task, ...)`` (the pydantic model), and the hook's
  whole page handling (``alist_task_pages``: request, JSON, models), per task.

The series are interleaved, several rounds each, medians; everything in this process with
``time.process_time()`` while the emulator runs in its own.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import certifi
import httpx
from common import LIVEPEER_CONN_ID, EmulatorProcess, Settings, median, progress

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.http import decode_response, request_headers
from airflow_provider_livepeer.models import Task, parse

ROUNDS = 5
PAGE = 1000


def _tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


async def _series(send: Callable[[], Awaitable[Any]], requests: int, in_flight: int) -> float:
    """CPU seconds per request of ``requests`` calls of ``send``, ``in_flight`` at a time."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            await send()

    cpu = time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return (time.process_time() - cpu) / requests


async def _httpx(
    url: str, params: dict[str, str], headers: dict[str, str], count: int, in_flight: int, parse_task: bool
) -> float:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), verify=_tls()) as client:

        async def send() -> None:
            response = await client.get(url, params=params, headers=headers)
            if parse_task:
                data = decode_response(
                    "GET", "/api/task/x", response.status_code, response.headers, response.content
                )
                parse(Task, data, "GET /api/task/x")
            else:
                response.content  # noqa: B018 - the body is read, nothing more

        await send()  # the connection, outside the measure
        return await _series(send, count, in_flight)


async def _aiohttp(
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    count: int,
    in_flight: int,
    parse_task: bool,
    trust_env: bool = True,
) -> float:
    connector = aiohttp.TCPConnector(ssl=_tls())
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=30.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=trust_env) as session:

        async def send() -> None:
            async with session.get(url, params=params, headers=headers) as response:
                body = await response.read()
            if parse_task:
                data = decode_response("GET", "/api/task/x", response.status, response.headers, body)
                parse(Task, data, "GET /api/task/x")

        await send()
        return await _series(send, count, in_flight)


async def _hook_reads(task_id: str, count: int, in_flight: int) -> float:
    hook = LivepeerHook(LIVEPEER_CONN_ID)
    try:
        await hook.aget_task(task_id)
        return await _series(lambda: hook.aget_task(task_id), count, in_flight)
    finally:
        await hook.aclose()


async def _hook_pages(pages: int) -> float:
    """CPU per task of the hook's list page handling (request, JSON, models)."""
    hook = LivepeerHook(LIVEPEER_CONN_ID)
    try:
        tasks = 0
        cpu = time.process_time()
        for _ in range(pages):
            async for page in hook.alist_task_pages(limit=PAGE):
                tasks += len(page.tasks())
                break
        return (time.process_time() - cpu) / tasks
    finally:
        await hook.aclose()


def run(emulator: EmulatorProcess, settings: Settings) -> dict[str, Any]:
    progress(f"client: httpx vs aiohttp, {settings.client_requests} requests per series; list parsing")
    emulator.reset()
    tasks = emulator.create(PAGE, seed=3, start=time.time(), min_s=100, max_s=200, stall=True)
    time.sleep(0.6)  # running: the bodies have a progress value, as in a real wait
    task_id = tasks[0]["id"]
    headers = request_headers(emulator.api_key)
    one_url, list_url = f"{emulator.url}/api/task/{task_id}", f"{emulator.url}/api/task"
    page_params = {"limit": str(PAGE)}
    count = settings.client_requests
    series: dict[str, Callable[[], Awaitable[float]]] = {
        "httpx_read_1": lambda: _httpx(one_url, {}, headers, count, 1, True),
        "aiohttp_read_1": lambda: _aiohttp(one_url, {}, headers, count, 1, True),
        "httpx_read_8": lambda: _httpx(one_url, {}, headers, count, 8, True),
        "aiohttp_read_8": lambda: _aiohttp(one_url, {}, headers, count, 8, True),
        "aiohttp_read_8_no_env": lambda: _aiohttp(one_url, {}, headers, count, 8, True, trust_env=False),
        "hook_read_8": lambda: _hook_reads(task_id, count, 8),
        "httpx_page": lambda: _httpx(list_url, page_params, headers, max(5, count // 40), 1, False),
        "aiohttp_page": lambda: _aiohttp(list_url, page_params, headers, max(5, count // 40), 1, False),
        "hook_page_per_task": lambda: _hook_pages(max(3, count // 80)),
    }
    samples: dict[str, list[float]] = {name: [] for name in series}
    for _ in range(ROUNDS):
        for name, measure in series.items():
            samples[name].append(asyncio.run(measure()))
    body = httpx.get(list_url, params=page_params, headers=headers, timeout=30).content
    items = json.loads(body)
    json_cpu, parse_cpu = [], []
    for _ in range(ROUNDS):
        cpu = time.process_time()
        json.loads(body)
        json_cpu.append((time.process_time() - cpu) / len(items))
        cpu = time.process_time()
        for item in items:
            parse(Task, item, "GET /api/task")
        parse_cpu.append((time.process_time() - cpu) / len(items))
    results: dict[str, Any] = {name: median(values) for name, values in samples.items()}
    results.update(
        requests_per_series=count,
        rounds=ROUNDS,
        page_tasks=len(items),
        page_bytes=len(body),
        json_per_task_s=median(json_cpu),
        model_per_task_s=median(parse_cpu),
    )
    for name in series:
        progress(f"  {name}: {results[name] * 1000:.3f} ms")
    return results
