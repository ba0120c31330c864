"""The sensor that gates downstream tasks on a Livepeer task finishing.

It waits through :mod:`airflow_provider_livepeer.waiting`, as the operators that start Livepeer work do.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSkipException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)

from airflow_provider_livepeer import waiting
from airflow_provider_livepeer.assets import api_host
from airflow_provider_livepeer.exceptions import NOT_FOUND_GRACE
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink, clear_link_urls
from airflow_provider_livepeer.models import LivepeerResult, Task, TaskResult
from airflow_provider_livepeer.triggers.watcher import LastSeen
from airflow_provider_livepeer.validation import finite_number
from airflow_provider_livepeer.waiting import (
    DEFAULT_TIMEOUT,
    XCOM_ASSET_SPEC,
    XCOM_OUTPUT,
    XCOM_OUTPUT_ASSET_ID,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_livepeer.lineage import Dataset

__all__ = ["DEFAULT_TIMEOUT", "XCOM_ASSET_SPEC", "XCOM_OUTPUT", "XCOM_OUTPUT_ASSET_ID", "LivepeerTaskSensor"]


class LivepeerTaskSensor(waiting.ClosesHookWhenDone, BaseSensorOperator):
    """Wait until a Livepeer task is ``completed``, then hand its asset to downstream tasks.

    Each poke reads the task. ``completed`` ends the wait: the sensor pushes the XComs ``output_asset_id``
    (the task's ``outputAssetId``) and ``asset_spec`` (the produced asset's ``assetSpec``, exactly as
    Livepeer returns it), plus ``output`` (Livepeer's ``output`` object) for tasks that make no asset, and
    returns a summary (``livepeer_task_id``, ``type``, ``phase``, ``output_asset_id``). ``pending``,
    ``waiting`` and ``running`` are logged with the progress (and Livepeer's message while it retries a
    ``waiting`` task); an unknown phase is logged and waited out.

    ``failed`` or ``cancelled`` fails the Airflow task with :class:`~.LivepeerTaskFailedError`, carrying the
    Livepeer task id, its type and Livepeer's ``errorMessage``. Airflow does not retry it: a remote
    terminal failure will not change, so another try would only read the same answer. With ``soft_fail``
    the task is skipped instead.

    Transient errors (429, 5xx, timeouts, dropped connections) are retried by the hook and then count as
    "not done yet" for that poke; 401 and 403 fail at once. A 404 fails too, once ``not_found_grace``
    seconds have passed since the sensor's first read: until then it is Livepeer's read replica not
    showing a new task yet, and the task is read again with backoff.

    Modes: ``poke`` and ``reschedule`` as any sensor; ``deferrable=True`` pokes once and then waits in the
    triggerer (:class:`~.LivepeerTaskTrigger`) with the sensor's own ``timeout``, so ``timeout`` and
    ``soft_fail`` behave as in the other modes; the trigger starts from that poke's answer, without
    reading the task again.

    :param livepeer_task_id: the Livepeer task id (templated), e.g. another operator's
        ``.output["livepeer_task_id"]``.
    :param livepeer_conn_id: the ``livepeer`` connection (templated).
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param airflow_asset_alias: publish what the task made as an Airflow Asset through
        ``AssetAlias(airflow_asset_alias)`` (see :mod:`airflow_provider_livepeer.assets`).
    :param shared_polling: when deferred, share one list request per interval with every other trigger
        on the connection (default); ``False`` polls this task on its own.
    :param not_found_grace: seconds after the first read during which a 404 is taken for Livepeer's read
        replica lagging behind a task made moments ago (default
        :data:`~airflow_provider_livepeer.exceptions.NOT_FOUND_GRACE`, 10; 0 fails a 404 at once).
    """

    template_fields: Sequence[str] = ("livepeer_task_id", "livepeer_conn_id")
    operator_extra_links = (LivepeerTaskLink(), LivepeerAssetLink())
    ui_color = "#2fdc9d"

    def __init__(
        self,
        *,
        livepeer_task_id: str,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        airflow_asset_alias: str | None = None,
        shared_polling: bool = True,
        not_found_grace: float = NOT_FOUND_GRACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**waiting.alias_outlets(airflow_asset_alias, kwargs))
        self.not_found_grace = finite_number(not_found_grace, "not_found_grace", 0)
        self.livepeer_task_id = livepeer_task_id
        self.livepeer_conn_id = livepeer_conn_id
        self.deferrable = deferrable
        self.airflow_asset_alias = airflow_asset_alias
        self.shared_polling = shared_polling
        self._result: TaskResult | None = None
        #: Until when a 404 is Livepeer's replica lagging: the grace from this sensor's first read.
        self._not_found_until: float | None = None

    @cached_property
    def hook(self) -> LivepeerHook:
        """The hook of the sensor's connection."""
        return LivepeerHook(self.livepeer_conn_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the task once: done when completed, an error when it failed."""
        return self._judge(context, self._read())

    def _read(self) -> Task | None:
        if self._not_found_until is None:
            self._not_found_until = time.time() + self.not_found_grace
        return waiting.read_task(self.hook, self.livepeer_task_id, self.log, self._not_found_until)

    def _judge(self, context: Context, task: Task | None) -> bool | PokeReturnValue:
        if task is None or not task.is_terminal:
            return False
        result = task.result()
        waiting.raise_for_failure(result)
        self._result = result
        summary = waiting.publish_result(context, result, self.hook, self.airflow_asset_alias)
        return PokeReturnValue(is_done=True, xcom_value=summary)

    def execute(self, context: Context) -> Any:
        """Poke (or reschedule) as any sensor; when deferrable, poke once and then defer."""
        clear_link_urls(context)
        if not self.deferrable:
            return super().execute(context)
        task = None
        try:
            task = self._read()
            poked = self._judge(context, task)
        except AirflowFailException as err:
            # The first poke runs outside BaseSensorOperator.execute: apply soft_fail as it would.
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(f"Skipping: {err}") from err
            raise
        if isinstance(poked, PokeReturnValue):
            return poked.xcom_value
        self.defer(
            **waiting.trigger_for(
                self.livepeer_task_id,
                self.livepeer_conn_id,
                self.poke_interval,
                self.timeout,
                self.shared_polling,
                # The triggerer starts from this poke's answer rather than reading the task again.
                LastSeen.of(task) if task is not None else None,
                self._not_found_until,
            )
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, Any]:
        """OpenLineage: what the awaited task made (its asset, or the task itself), as its Airflow Asset."""
        from airflow_provider_livepeer.lineage import operator_lineage, result_dataset

        host = api_host(self.hook.base_url)
        return operator_lineage([], [result_dataset(host, self._result)] if self._result else [])

    def execute_complete(
        self, context: Context, event: Any = None, livepeer_task_id: str | None = None
    ) -> LivepeerResult:
        """Resume after the trigger fired: validate its event, then publish as a poke does."""
        result = self._result = waiting.result_from_event(event, livepeer_task_id or self.livepeer_task_id)
        self.log.info("Livepeer task %s completed", result.livepeer_task_id)
        return waiting.publish_result(context, result, self.hook, self.airflow_asset_alias)
