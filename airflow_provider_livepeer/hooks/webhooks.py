"""The hook's calls to Livepeer's webhooks: register, list and delete the webhooks that call Airflow.

:class:`~airflow_provider_livepeer.hooks.livepeer.LivepeerHook` has them (it derives from
:class:`LivepeerWebhookCalls`); a deployment registers its receiver
(:mod:`airflow_provider_livepeer.plugins.livepeer`) with :meth:`LivepeerWebhookCalls.create_webhook`.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import mask_secret

from airflow_provider_livepeer.create_requests import CreateWebhookRequest
from airflow_provider_livepeer.exceptions import LivepeerBadResponseError
from airflow_provider_livepeer.hooks.base import LivepeerBaseHook
from airflow_provider_livepeer.http import ApiRequest
from airflow_provider_livepeer.models import Webhook, parse
from airflow_provider_livepeer.validation import validate_livepeer_id


class LivepeerWebhookCalls(LivepeerBaseHook):
    """Livepeer's ``/api/webhook`` calls: a part of ``LivepeerHook``, which derives from this class."""

    def create_webhook(self, *args: Any, **kwargs: Any) -> Webhook:
        """Make a webhook: Livepeer calls ``url`` with each of ``events`` (``POST /api/webhook``).

        Takes the fields of :class:`~airflow_provider_livepeer.create_requests.CreateWebhookRequest`:
        ``name``, ``url`` and ``events`` by position or by name, ``shared_secret`` and ``stream_id`` by
        name. The secret is registered with Airflow's secrets masker before anything is sent.

        :returns: the webhook (never its secret).
        :raises ValueError: a bad name, URL, event list or secret (nothing is sent).
        :raises TypeError: an argument the call does not take.
        """
        request = CreateWebhookRequest.from_call(args, kwargs)
        if request.shared_secret:
            mask_secret(request.shared_secret)
        response = self._send(request.api_request())
        return parse(Webhook, response.data, response.label, response.answered_at)

    def list_webhooks(self) -> list[Webhook]:
        """The webhooks of the key's project (``GET /api/webhook``; deleted ones are left out)."""
        response = self._send(ApiRequest("GET", "/webhook"))
        if not isinstance(response.data, list):
            raise LivepeerBadResponseError(
                f"Livepeer answered {response.label} with a body that is not a list"
            )
        return [parse(Webhook, item, response.label, response.answered_at) for item in response.data]

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook (``DELETE /api/webhook/{id}``): Livepeer stops calling it.

        :raises ValueError: the id is malformed (nothing is sent).
        :raises LivepeerNotFoundError: no such webhook (or one of another account).
        """
        self._send(
            ApiRequest("DELETE", f"/webhook/{validate_livepeer_id(webhook_id, 'Livepeer webhook id')}")
        )
