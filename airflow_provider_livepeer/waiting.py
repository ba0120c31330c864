"""Waiting for a Livepeer task: read it, wait for it, defer to the trigger, validate its event, publish it.

The sensor and the operators that start Livepeer work both wait through these functions, so they wait
the same way and hand downstream tasks the same XComs; both close their hook's session the same way too
(:class:`ClosesHookWhenDone`).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSensorTimeout,
    AssetAlias,
    Context,
)
from pydantic import ValidationError

from airflow_provider_livepeer.assets import emit_asset_event
from airflow_provider_livepeer.exceptions import LivepeerError, LivepeerTaskFailedError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.http import Logger, is_retryable
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink
from airflow_provider_livepeer.models import FAILURE_PHASES, LivepeerResult, Task, TaskPhase, TaskResult
from airflow_provider_livepeer.triggers.livepeer import EVENT_STATUSES, LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.watcher import LastSeen
from airflow_provider_livepeer.version_compat import xcom_push

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator as _OperatorBase
else:
    _OperatorBase = object

#: XCom keys pushed when a Livepeer task completes.
XCOM_OUTPUT_ASSET_ID = "output_asset_id"
XCOM_ASSET_SPEC = "asset_spec"
XCOM_OUTPUT = "output"

#: Seven days, the default ``timeout`` of Airflow's sensors.
DEFAULT_TIMEOUT = 7 * 24 * 3600.0


def read_task(
    hook: LivepeerHook, livepeer_task_id: str, log: Logger, not_found_until: float | None = None
) -> Task | None:
    """Read a task and log where it stands.

    :param not_found_until: until this Unix time a 404 is Livepeer's replica lagging, and is retried.
    :returns: the task, or ``None`` when a transient error (429, 5xx, timeout) outlasted the hook's retries:
        "not done yet", to be tried again at the next poll.
    :raises LivepeerError: a permanent error (401, 403, a 404 after ``not_found_until``, a malformed
        answer).
    """
    try:
        task = hook.get_task(livepeer_task_id, not_found_until=not_found_until)
    except LivepeerError as err:
        if not is_retryable(err):
            raise
        log.warning("Livepeer task %s could not be read this time: %s", livepeer_task_id, err)
        return None
    log.info(task.describe())
    return task


def raise_for_failure(result: TaskResult) -> None:
    """Raise :class:`~.LivepeerTaskFailedError` for a task that ended ``failed`` or ``cancelled``."""
    if result.phase in FAILURE_PHASES:
        raise LivepeerTaskFailedError(
            result.livepeer_task_id, result.type, result.phase, result.error_message
        )


def wait_for_task(
    hook: LivepeerHook,
    livepeer_task_id: str,
    *,
    poll_interval: float,
    timeout: float,
    log: Logger,
    not_found_until: float | None = None,
) -> TaskResult:
    """Poll a task in this process until it is terminal.

    :param not_found_until: see :func:`read_task`.
    :raises AirflowSensorTimeout: ``timeout`` seconds passed first.
    :raises LivepeerTaskFailedError: the task failed or was cancelled.
    """
    deadline = time.monotonic() + timeout
    while True:
        task = read_task(hook, livepeer_task_id, log, not_found_until)
        if task is not None and task.is_terminal:
            result = task.result()
            raise_for_failure(result)
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AirflowSensorTimeout(f"Livepeer task {livepeer_task_id} did not finish within {timeout} s")
        # Never past the deadline: the last read is made at the timeout, not up to an interval after it.
        time.sleep(min(poll_interval, remaining))


def trigger_for(
    livepeer_task_id: str,
    livepeer_conn_id: str,
    poll_interval: float,
    timeout: float,
    shared_polling: bool,
    last_seen: LastSeen | None = None,
    not_found_until: float | None = None,
) -> dict[str, Any]:
    """The arguments of ``defer()`` that wait for a task in the triggerer for at most ``timeout`` seconds.

    :param last_seen: what this worker last saw of the task, so the triggerer need not read it again.
    :param not_found_until: see :func:`read_task`.
    """
    return {
        "trigger": LivepeerTaskTrigger(
            livepeer_task_id=livepeer_task_id,
            livepeer_conn_id=livepeer_conn_id,
            poll_interval=poll_interval,
            end_time=time.time() + timeout,
            shared_polling=shared_polling,
            last_phase=last_seen.phase if last_seen else None,
            last_updated_at=last_seen.updated_at if last_seen else None,
            last_seen_at=last_seen.at if last_seen else None,
            not_found_until=not_found_until,
        ),
        "method_name": "execute_complete",
        # Handed back to execute_complete: each (mapped) task instance resumes knowing its own Livepeer task.
        "kwargs": {"livepeer_task_id": livepeer_task_id},
        "timeout": timedelta(seconds=timeout),
    }


def result_from_event(event: Any, livepeer_task_id: str) -> TaskResult:
    """Validate a :class:`~.LivepeerTaskTrigger` event and turn it into the completed task's result.

    :raises AirflowException: the event is missing, malformed or of an unknown status.
    :raises AirflowSensorTimeout: the trigger gave up at its end time.
    :raises LivepeerError: the trigger could not read the task.
    :raises LivepeerTaskFailedError: the task failed or was cancelled.
    """
    if not isinstance(event, dict):
        raise AirflowException(
            f"Waiting for Livepeer task {livepeer_task_id} resumed without a trigger event (got {event!r})"
        )
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise AirflowException(
            f"Unknown event status {status!r} while waiting for Livepeer task {livepeer_task_id}: "
            f"expected one of {', '.join(EVENT_STATUSES)}"
        )
    message = str(event.get("message") or f"Livepeer task {livepeer_task_id}: trigger event {status!r}")
    if status == "timeout":
        raise AirflowSensorTimeout(message)
    if status == "error":
        raise LivepeerError(message)
    try:
        result = TaskResult.model_validate(event.get("result"))
    except ValidationError as err:
        raise AirflowException(
            f"Malformed {status!r} event for Livepeer task {livepeer_task_id}: "
            f"{err.error_count()} problem(s) in its result"
        ) from None
    # The result must be of this task and agree with the status, or the XComs would be wrong.
    expected = FAILURE_PHASES if status == "failed" else {TaskPhase.COMPLETED}
    if result.livepeer_task_id != livepeer_task_id or result.phase not in expected:
        raise AirflowException(
            f"Malformed {status!r} event for Livepeer task {livepeer_task_id}: its result is task "
            f"{result.livepeer_task_id} in phase {result.phase!r}"
        )
    raise_for_failure(result)
    return result


def publish_result(
    context: Context, result: TaskResult, hook: LivepeerHook, airflow_asset_alias: str | None
) -> LivepeerResult:
    """Hand a completed task downstream and return its result.

    XComs: ``output_asset_id`` and ``asset_spec`` always (``None`` for tasks that make no asset), and
    ``output``, Livepeer's output object, for tasks that make no asset (export, transcode-file), whose
    result is there. Also the extra links' URLs and, with an alias, the Airflow Asset event.
    """
    ti = context["ti"]
    xcom_push(ti, XCOM_OUTPUT_ASSET_ID, result.output_asset_id)
    xcom_push(ti, XCOM_ASSET_SPEC, result.asset_spec)
    if result.asset_spec is None:
        xcom_push(ti, XCOM_OUTPUT, result.output)
    LivepeerTaskLink.store_page(context, hook.base_url, result)
    if result.output_asset_id:
        LivepeerAssetLink.store(context, LivepeerAssetLink.url(hook.base_url, result.output_asset_id))
    if airflow_asset_alias:
        emit_asset_event(context, airflow_asset_alias, hook.base_url, result)
    return result.summary()


def alias_outlets(airflow_asset_alias: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Operator arguments with ``AssetAlias(airflow_asset_alias)`` added to the outlets."""
    if airflow_asset_alias:
        kwargs["outlets"] = [*kwargs.get("outlets", []), AssetAlias(airflow_asset_alias)]
    return kwargs


class ClosesHookWhenDone(_OperatorBase):
    """Mixin of the operators and the sensor: close the task's ``hook`` session when the task is done with it.

    After ``execute`` or ``execute_complete`` (``post_execute``), and before deferring: the trigger waits
    with a session of its own, and a resumed task opens a new one if it needs one.
    """

    if TYPE_CHECKING:

        @property
        def hook(self) -> LivepeerHook: ...

    def post_execute(self, context: Any, result: Any = None) -> None:
        """Close the hook's session, then run the base class's ``post_execute``."""
        self.hook.close()
        super().post_execute(context, result)

    def defer(self, **kwargs: Any) -> NoReturn:
        """Close the hook's session, then defer."""
        self.hook.close()
        super().defer(**kwargs)
