"""The webhook endpoints: Livepeer's ``/api/webhook`` and the emulator's record of the calls it made.

* ``POST /api/webhook`` ``{name, url, events, sharedSecret?, streamId?}``: 201, the webhook (never its
  secret); no ``events``: 422 ``must provide "events" field with subscriptions``;
* ``GET /api/webhook``: the key's project's webhooks; ``GET /api/webhook/{id}``: one (404 unknown,
  deleted or another user's);
* ``PUT /api/webhook/{id}``: every field anew, 200 ``{"id"}``; ``DELETE /api/webhook/{id}``: 204;
* ``GET /_emulator/webhooks/calls`` (admin, no key): ``{"calls": [...]}``, each call the cannon made
  (:meth:`.cannon.WebhookCannon.calls`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from livepeer_studio_emulator import payloads
from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.clock import to_ms
from livepeer_studio_emulator.state import EmulatorState


def add_webhook_routes(app: FastAPI, state: EmulatorState) -> None:
    """Add the webhook endpoints to the emulator's app."""

    def account(request: Request) -> Account:
        return state.authenticate(request.headers.get("authorization"), request.method, request.url.path)

    @app.post("/api/webhook")
    async def create_webhook(request: Request) -> Response:
        body = await request.body()

        def answer() -> Response:
            caller = account(request)
            payload = payloads.parse_body(body, payloads.WebhookPayload)
            record = state.webhooks.create(caller, payload, to_ms(state.clock()))
            return JSONResponse(record.view(), status_code=201)

        return await run_in_threadpool(answer)

    @app.get("/api/webhook")
    def list_webhooks(request: Request) -> Response:
        caller = account(request)
        return JSONResponse([record.view() for record in state.webhooks.of(caller)])

    @app.get("/api/webhook/{webhook_id}")
    def get_webhook(request: Request, webhook_id: str) -> Response:
        caller = account(request)
        return JSONResponse(state.webhooks.get(caller, webhook_id).view())

    @app.put("/api/webhook/{webhook_id}")
    async def replace_webhook(request: Request, webhook_id: str) -> Response:
        body = await request.body()

        def answer() -> Response:
            caller = account(request)
            state.webhooks.replace(caller, webhook_id, payloads.parse_body(body, payloads.WebhookPayload))
            return JSONResponse({"id": webhook_id})

        return await run_in_threadpool(answer)

    @app.delete("/api/webhook/{webhook_id}")
    def delete_webhook(request: Request, webhook_id: str) -> Response:
        caller = account(request)
        state.webhooks.delete(caller, webhook_id)
        return Response(status_code=204)

    @app.get("/_emulator/webhooks/calls")
    def webhook_calls() -> Response:
        return JSONResponse({"calls": state.cannon.calls()})
