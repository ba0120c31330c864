"""The hook's webhook calls, against the emulator: register, list and delete a webhook."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_livepeer.exceptions import LivepeerNotFoundError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from tests.support.webhooks import SECRET

RECEIVER = "https://airflow.example.com/livepeer/webhooks/livepeer_default"


def test_a_webhook_is_created_listed_and_deleted(emulator_hook: LivepeerHook, livepeer_emulator: Any) -> None:
    made = emulator_hook.create_webhook(
        "airflow", RECEIVER, ["task.completed", "asset.ready"], shared_secret=SECRET
    )
    assert (made.name, made.url, made.events) == ("airflow", RECEIVER, ["task.completed", "asset.ready"])
    assert SECRET not in repr(made) and SECRET not in made.model_dump_json()
    # What Livepeer signs with is what was sent.
    assert livepeer_emulator.state.webhooks.all()[0].shared_secret == SECRET
    assert [hook.id for hook in emulator_hook.list_webhooks()] == [made.id]
    emulator_hook.delete_webhook(made.id)
    assert emulator_hook.list_webhooks() == []
    with pytest.raises(LivepeerNotFoundError):
        emulator_hook.delete_webhook(made.id)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("airflow", "ftp://example.com", ["task.completed"]), {}, "Invalid webhook URL"),
        (("", RECEIVER, ["task.completed"]), {}, "Invalid webhook name"),
        (("airflow", RECEIVER, []), {}, "Invalid webhook events"),
        (("airflow", RECEIVER, ["task.completed"]), {"shared_secret": "  "}, "Invalid webhook shared_secret"),
    ],
)
def test_a_bad_webhook_is_refused_before_anything_is_sent(
    emulator_hook: LivepeerHook,
    livepeer_emulator: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        emulator_hook.create_webhook(*args, **kwargs)
    assert livepeer_emulator.request_count("POST", "/api/webhook") == 0


def test_the_secret_is_masked_before_it_is_sent(emulator_hook: LivepeerHook) -> None:
    from airflow.providers.common.compat.sdk import redact

    emulator_hook.create_webhook("airflow", RECEIVER, ["task.completed"], shared_secret=SECRET)
    assert SECRET not in str(redact(f"signed with {SECRET}"))
