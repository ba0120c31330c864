"""The HTTP layer: Livepeer's ``/api`` endpoints and the emulator's ``/_emulator`` admin endpoints.

Routes only parse requests and shape answers; :class:`~.state.EmulatorState` does the work. The event
loop never waits for a lock (the state's is shared with the job threads) nor encodes a long answer:
routes without a body are plain functions, which FastAPI runs in a worker thread, and routes with one
read it on the loop and do the rest in a worker thread (:func:`_with_body`). Every error is
Livepeer's ``{"errors": [...]}``.

Livepeer endpoints (``Authorization: Bearer KEY``): ``GET /api/task``, ``GET|DELETE /api/task/{id}``
(the delete is admin-only: always 403), ``POST /api/task/{id}/retry``,
``GET /api/asset``, ``GET|DELETE /api/asset/{id}``, ``POST /api/asset/upload/url``,
``POST /api/asset/{id}/export``, ``POST /api/transcode``, ``POST /api/clip``, ``POST|GET /api/stream``,
``GET /api/stream/{id}``, ``POST /api/asset/request-upload`` (its upload endpoints, which take the token of
its answer instead of a key: :mod:`.upload_routes`), ``/api/webhook`` (:mod:`.webhook_routes`). A
task-creating call may carry ``X-Emulator-Outcome`` (see :meth:`.outcomes.Outcome.parse`).

Admin endpoints (no key: the emulator is meant to listen on loopback only, for tests and demos):

* ``GET /_emulator/health``: ``{"status": "ok", "accounts", "tasks", "assets", "activeJobs", "speed", "now"}``
* ``GET|POST|DELETE /_emulator/faults``: the :class:`.faults.FaultConfig` as JSON (POST replaces it)
* ``GET|DELETE /_emulator/requests``: ``{"total", "counts": {"GET /api/task": n}, "requests": [...]}``
* ``GET|POST|DELETE /_emulator/outcomes``, ``DELETE /_emulator/outcomes/{id}``: scripted outcome rules
  (:class:`.outcomes.OutcomeRule` JSON; POST adds one)
* ``GET /_emulator/tasks/{id}``: a task with its outcome, job (fetch and probe result) and timeline
* ``POST /_emulator/streams/{id}/sessions``: ``{"recordingUrl"}`` gives a stream a recording session
  (the media file stands for what was recorded); answers 201 ``{"id", "streamId", "createdAt",
  "recordingUrl"}``
* ``GET|POST /_emulator/accounts``: accounts with masked keys; POST ``{"apiKey"}`` adds one,
  ``{"apiKey", "projectOf": KEY}`` a key of a non-default project of that key's user, and
  ``{"apiKey", "corsKeyOf": KEY}`` a CORS-enabled key with restricted access (a browser key) of that
  key's account
* ``POST /_emulator/reset``: forget tasks, assets, outcomes, faults and logged requests
* ``/_emulator/docs``: the emulator's own OpenAPI UI

Pages for people (no key), at the paths of Livepeer Studio's dashboard, so the provider's extra links open:
``GET /dashboard/assets/{id}``, an HTML page of the asset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from livepeer_studio_emulator import __version__, dashboard, listing, payloads
from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.faults import (
    ApiTrafficMiddleware,
    FaultConfig,
    silence_drop_tracebacks,
)
from livepeer_studio_emulator.outcomes import Outcome, OutcomeRule
from livepeer_studio_emulator.state import EmulatorState
from livepeer_studio_emulator.upload_routes import add_upload_routes
from livepeer_studio_emulator.webhook_routes import add_webhook_routes

_Parsed = TypeVar("_Parsed")

#: Request header choosing the outcome of the task a call creates (see Outcome.parse).
OUTCOME_HEADER = "X-Emulator-Outcome"


def create_app(state: EmulatorState) -> FastAPI:
    """Build the emulator's ASGI app around a state.

    :param state: the state it serves (shared with the caller, e.g. a test).
    """
    app = FastAPI(
        title="Livepeer Studio emulator",
        version=__version__,
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = state
    silence_drop_tracebacks()
    app.add_middleware(ApiTrafficMiddleware, injector=state.faults, record=state.request_log.add)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, err: ApiError) -> Response:
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, err: StarletteHTTPException) -> Response:
        message = "not found" if err.status_code == 404 else str(err.detail).lower()
        return JSONResponse({"errors": [message]}, status_code=err.status_code, headers=err.headers)

    _add_api_routes(app, state)
    add_upload_routes(app, state)
    add_webhook_routes(app, state)
    _add_admin_routes(app, state)
    dashboard.add_routes(app, state)
    return app


def _outcome(request: Request) -> Outcome | None:
    raw = request.headers.get(OUTCOME_HEADER)
    if raw is None:
        return None
    try:
        return Outcome.parse(raw)
    except ValueError as err:
        raise ApiError(400, f"invalid {OUTCOME_HEADER} header: {'; '.join(_messages(err))}") from None


def _details(request: Request) -> bool:
    return bool(request.query_params.get("details"))


async def _with_body(request: Request, answer: Callable[[bytes], Response]) -> Response:
    """Read the request's body on the event loop, then ``answer(body)`` in a worker thread."""
    return await run_in_threadpool(answer, await request.body())


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as err:
        raise ApiError(422, f"request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "request body must be a JSON object")
    return data


def _parsed(body: bytes, parse: Callable[[dict[str, Any]], _Parsed]) -> _Parsed:
    """``parse`` of a JSON object body; what it refuses is a 422 listing each error."""
    data = _json_object(body)
    try:
        return parse(data)
    except ValueError as err:
        raise ApiError(422, *_messages(err)) from None


def _list_response(
    request: Request,
    fields: dict[str, listing.ListField],
    page_of: Callable[[listing.ListQuery], listing.Page],
    *,
    end_link: bool,
) -> Response:
    query = listing.parse_query(request.query_params.multi_items(), fields)
    page = page_of(query)
    headers: dict[str, str] = {}
    if query.count and page.items:
        headers["X-Total-Count"] = str(page.total)
    # The task list links a last page with cursor=undefined (its cursor is undefined on the server).
    cursor = page.next_cursor or ("undefined" if end_link else None)
    if page.items and cursor is not None:
        url = listing.next_link(str(request.url), request.url.query, cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    return JSONResponse(page.items, headers=headers)


def _add_api_routes(app: FastAPI, state: EmulatorState) -> None:
    def account(request: Request) -> Account:
        return state.authenticate(request.headers.get("authorization"), request.method, request.url.path)

    @app.get("/api/task")
    def list_tasks(request: Request) -> Response:
        caller = account(request)
        return _list_response(
            request, listing.TASK_FIELDS, lambda query: state.task_page(caller, query), end_link=True
        )

    @app.get("/api/task/{task_id}")
    def get_task(request: Request, task_id: str) -> Response:
        return JSONResponse(state.get_task(account(request), task_id))

    @app.post("/api/task/{task_id}/retry")
    def retry_task(request: Request, task_id: str) -> Response:
        return JSONResponse(state.retry_task(account(request), task_id))

    @app.delete("/api/task/{task_id}")
    def delete_task(request: Request, task_id: str) -> Response:
        account(request)  # an unknown key is still a 401
        # Only admins may delete tasks on Livepeer, whoever owns the task; the emulator has no admin keys.
        raise ApiError(403, "user does not have admin priviledges")

    @app.get("/api/asset")
    def list_assets(request: Request) -> Response:
        caller = account(request)
        # Like the server, ?playbackId=, ?sourceUrl= and ?phase= are shortcuts for filters.
        shortcuts = [
            {"id": key, "value": request.query_params[key]}
            for key in ("playbackId", "sourceUrl", "phase")
            if key in request.query_params
        ]
        extra = listing.parse_filters(json.dumps(shortcuts), listing.ASSET_FIELDS) if shortcuts else ()
        items = state.list_assets(caller, _details(request))
        return _list_response(
            request,
            listing.ASSET_FIELDS,
            lambda query: listing.paginate(items, query, listing.ASSET_FIELDS, extra),
            end_link=False,
        )

    @app.post("/api/asset/upload/url")
    async def import_asset(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            caller = account(request)
            payload = payloads.parse_body(body, payloads.NewAssetFromUrl)
            status, created = state.create_import(caller, payload, _outcome(request))
            return JSONResponse(created, status_code=status)

        return await _with_body(request, answer)

    @app.post("/api/asset/request-upload")
    async def request_upload(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            caller = account(request)
            payload = payloads.parse_body(body, payloads.NewAssetPayload)
            return JSONResponse(
                state.request_upload(caller, payload, str(request.base_url), _outcome(request))
            )

        return await _with_body(request, answer)

    @app.get("/api/asset/{asset_id}")
    def get_asset(request: Request, asset_id: str) -> Response:
        return JSONResponse(state.get_asset(account(request), asset_id, _details(request)))

    @app.delete("/api/asset/{asset_id}")
    def delete_asset(request: Request, asset_id: str) -> Response:
        state.delete_asset(account(request), asset_id)
        return Response(status_code=204)

    @app.post("/api/asset/{asset_id}/export")
    async def export_asset(request: Request, asset_id: str) -> Response:
        def answer(body: bytes) -> Response:
            caller = account(request)
            params = payloads.parse_body(body, payloads.ExportParams)
            task = state.create_export(caller, asset_id, params, _outcome(request))
            return JSONResponse(task, status_code=201)

        return await _with_body(request, answer)

    @app.post("/api/transcode")
    async def transcode(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            caller = account(request)
            payload = payloads.parse_body(body, payloads.TranscodePayload)
            return JSONResponse(state.create_transcode(caller, payload, _outcome(request)))

        return await _with_body(request, answer)

    @app.post("/api/clip")
    async def clip(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            caller = account(request)
            payload = payloads.parse_body(body, payloads.ClipPayload)
            client = request.client.host if request.client else "127.0.0.1"
            return JSONResponse(state.create_clip(caller, payload, _outcome(request), client))

        return await _with_body(request, answer)

    @app.post("/api/stream")
    async def create_stream(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            caller = account(request)
            payload = payloads.parse_body(body, payloads.NewStreamPayload)
            return JSONResponse(state.create_stream(caller, payload), status_code=201)

        return await _with_body(request, answer)

    @app.get("/api/stream")
    def list_streams(request: Request) -> Response:
        return JSONResponse(state.list_streams(account(request)))

    @app.get("/api/stream/{stream_id}")
    def get_stream(request: Request, stream_id: str) -> Response:
        return JSONResponse(state.get_stream(account(request), stream_id))


def _add_admin_routes(app: FastAPI, state: EmulatorState) -> None:
    @app.get("/_emulator/health")
    def health() -> Response:
        return JSONResponse(state.health())

    @app.get("/_emulator/faults")
    def get_faults() -> Response:
        return JSONResponse(state.faults.config.to_json())

    @app.post("/_emulator/faults")
    async def set_faults(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            state.faults.configure(_parsed(body, FaultConfig.model_validate))
            return JSONResponse(state.faults.config.to_json())

        return await _with_body(request, answer)

    @app.delete("/_emulator/faults")
    def clear_faults() -> Response:
        state.faults.configure(FaultConfig())
        return Response(status_code=204)

    @app.get("/_emulator/requests")
    def get_requests() -> Response:
        records = state.request_log.all()
        counts: dict[str, int] = {}
        for record in records:
            key = f"{record.method} {record.path}"
            counts[key] = counts.get(key, 0) + 1
        return JSONResponse(
            {"total": len(records), "counts": counts, "requests": [record.to_json() for record in records]}
        )

    @app.delete("/_emulator/requests")
    def reset_requests() -> Response:
        state.request_log.clear()
        return Response(status_code=204)

    @app.get("/_emulator/outcomes")
    def get_outcomes() -> Response:
        return JSONResponse({"rules": [rule.to_json() for rule in state.outcome_rules()]})

    @app.post("/_emulator/outcomes")
    async def add_outcome(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            rule = _parsed(body, OutcomeRule.from_json)
            return JSONResponse(state.add_outcome_rule(rule).to_json(), status_code=201)

        return await _with_body(request, answer)

    @app.delete("/_emulator/outcomes")
    def clear_outcomes() -> Response:
        state.clear_outcome_rules()
        return Response(status_code=204)

    @app.delete("/_emulator/outcomes/{rule_id}")
    def delete_outcome(rule_id: str) -> Response:
        if not state.remove_outcome_rule(rule_id):
            raise ApiError(404, "not found")
        return Response(status_code=204)

    @app.get("/_emulator/tasks/{task_id}")
    def debug_task(task_id: str) -> Response:
        try:
            return JSONResponse(state.debug_task(task_id))
        except KeyError:
            raise ApiError(404, "not found") from None

    @app.post("/_emulator/streams/{stream_id}/sessions")
    async def add_recording_session(request: Request, stream_id: str) -> Response:
        def answer(body: bytes) -> Response:
            url = _json_object(body).get("recordingUrl")
            if not isinstance(url, str) or not url:
                raise ApiError(422, "recordingUrl (the URL of a media file) is required")
            try:
                return JSONResponse(state.add_recording_session(stream_id, url), status_code=201)
            except KeyError:
                raise ApiError(404, "stream not found") from None

        return await _with_body(request, answer)

    @app.get("/_emulator/accounts")
    def get_accounts() -> Response:
        return JSONResponse({"accounts": [account.to_json() for account in state.accounts]})

    @app.post("/_emulator/accounts")
    async def add_account(request: Request) -> Response:
        def answer(body: bytes) -> Response:
            data = _json_object(body)
            key, project_of, cors_key_of = data.get("apiKey"), data.get("projectOf"), data.get("corsKeyOf")
            if not isinstance(key, str):
                raise ApiError(422, "apiKey (a string) is required")
            for name, value in (("projectOf", project_of), ("corsKeyOf", cors_key_of)):
                if value is not None and not isinstance(value, str):
                    raise ApiError(422, f"{name} must be a known API key")
            try:
                account = state.add_account(key, project_of, cors_key_of=cors_key_of)
            except KeyError:
                raise ApiError(422, "projectOf and corsKeyOf must be known API keys") from None
            except ValueError as err:
                raise ApiError(422, str(err)) from None
            return JSONResponse(account.to_json(), status_code=201)

        return await _with_body(request, answer)

    @app.post("/_emulator/reset")
    def reset() -> Response:
        state.reset()
        return Response(status_code=204)


def _messages(err: ValueError) -> list[str]:
    errors = getattr(err, "errors", None)
    if callable(errors):
        return [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors()]
    return [str(err)]
