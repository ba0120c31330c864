"""The base of the operators that start Livepeer work and wait for it.

Every task-creating operator pushes ``livepeer_task_id`` to XCom right after the create call, before any
waiting (and ``output_asset_id`` / ``playback_id`` when Livepeer returns an asset), so a
:class:`~airflow_provider_livepeer.sensors.livepeer.LivepeerTaskSensor` downstream can take
``op.output["livepeer_task_id"]``. With ``wait_for_completion`` (the default) it then waits exactly as the
sensor does and pushes the same XComs.

**An Airflow retry never duplicates Livepeer work.** The operators are durable
(:class:`ResumableJobMixin`): right after the create call the Livepeer task id is saved in Airflow's
``task_state_store``, which outlives the try. A later try of the same task instance reads it back and
asks Livepeer for that task: still pending, waiting or running, the try re-attaches and waits for it;
completed, it only publishes the result; failed, cancelled or gone, it starts new work. Only then does
it create anything. (A Livepeer failure seen while waiting fails the Airflow task without a retry, as
the sensor does; the re-attach serves tries that ended otherwise: a crash, a timeout, a lost worker.)
Livepeer's own answer to a repeated import URL covers imports, not exports, transcodes or clips.
Pass ``durable=False`` to create new work on every try. The ``task_state_store`` arrived in Airflow 3.3:
on older versions every try creates new work, and the task log says so in one line.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator, Context, ResumableJobMixin, conf

from airflow_provider_livepeer.assets import api_host
from airflow_provider_livepeer.create_requests import CreateRequest
from airflow_provider_livepeer.exceptions import (
    NOT_FOUND_GRACE,
    LivepeerNotFoundError,
    LivepeerPermissionError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.lineage import (
    livepeer_dataset,
    operator_lineage,
)
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink, clear_link_urls
from airflow_provider_livepeer.models import (
    TERMINAL_PHASES,
    CreatedWork,
    LivepeerResult,
    TaskPhase,
    TaskResult,
    unfinished_result,
)
from airflow_provider_livepeer.triggers.watcher import LastSeen
from airflow_provider_livepeer.validation import finite_number
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_3_PLUS, log_reattach_unavailable, xcom_push
from airflow_provider_livepeer.waiting import (
    DEFAULT_TIMEOUT,
    XCOM_OUTPUT_ASSET_ID,
    ClosesHookWhenDone,
    alias_outlets,
    publish_result,
    result_from_event,
    trigger_for,
    wait_for_task,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_livepeer.lineage import Dataset

#: XCom keys pushed right after the create call (with ``output_asset_id``, when Livepeer names the asset).
XCOM_LIVEPEER_TASK_ID = "livepeer_task_id"
XCOM_PLAYBACK_ID = "playback_id"


class LivepeerTaskOperator(ClosesHookWhenDone, ResumableJobMixin, BaseOperator):
    """Base of the operators that create a Livepeer task and (by default) wait for it.

    :param livepeer_conn_id: the ``livepeer`` connection (templated).
    :param wait_for_completion: wait until the Livepeer task is terminal (default); otherwise return
        after the create call.
    :param poll_interval: seconds between reads of the task while waiting.
    :param timeout: the longest wait, in seconds (default seven days, as sensors).
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param airflow_asset_alias: publish what the task made as an Airflow Asset through
        ``AssetAlias(airflow_asset_alias)`` (see :mod:`airflow_provider_livepeer.assets`).
    :param shared_polling: when deferred, share one list request per interval with every other trigger
        on the connection (default); ``False`` polls this task on its own.
    :param durable: re-attach to the Livepeer task of an earlier try instead of creating new work
        (default ``True``; needs Airflow 3.3).
    :param not_found_grace: seconds after the create call during which a 404 for the new task is taken
        for Livepeer's read replica lagging, and the task is read again (default
        :data:`~airflow_provider_livepeer.exceptions.NOT_FOUND_GRACE`, 10).

    A subclass takes the fields of its create call's :attr:`request_model` as keyword arguments, keeps
    them as attributes of the same names, and hands them to its hook method in :meth:`create`
    (:meth:`create_arguments`).
    """

    #: The request model of the create call: its fields are the operator's create parameters.
    request_model: ClassVar[type[CreateRequest]]
    external_id_key = XCOM_LIVEPEER_TASK_ID
    operator_extra_links = (LivepeerTaskLink(), LivepeerAssetLink())
    template_fields: Sequence[str] = ("livepeer_conn_id",)
    ui_color = "#2fdc9d"

    def __init__(
        self,
        *,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        wait_for_completion: bool = True,
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_TIMEOUT,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        airflow_asset_alias: str | None = None,
        shared_polling: bool = True,
        durable: bool | None = None,
        not_found_grace: float = NOT_FOUND_GRACE,
        **kwargs: Any,
    ) -> None:
        kwargs = alias_outlets(airflow_asset_alias, kwargs)
        if AIRFLOW_V_3_3_PLUS:
            kwargs["durable"] = durable is not False
        super().__init__(**kwargs)
        #: Whether the DAG asked for the re-attach itself, rather than leaving it at its default.
        self._durable_requested = durable
        self.shared_polling = shared_polling
        self.livepeer_conn_id = livepeer_conn_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self.airflow_asset_alias = airflow_asset_alias
        self.not_found_grace = finite_number(not_found_grace, "not_found_grace", 0)
        self._result: TaskResult | None = None
        self._summary: LivepeerResult | None = None
        #: The asset the create call (or a re-attach's read) named, before the task completes.
        self._made_asset_id: str | None = None
        #: The latest answer about the task (its creation, or a re-attach's read), handed to the trigger.
        self._last_seen: LastSeen | None = None
        #: Until when a 404 for the task just created is Livepeer's read replica lagging (retried).
        self._not_found_until: float | None = None

    @cached_property
    def hook(self) -> LivepeerHook:
        """The hook of the operator's connection."""
        return LivepeerHook(self.livepeer_conn_id)

    @abstractmethod
    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Send the create call; the hook checks the arguments first, so bad ones send nothing."""

    def create_arguments(self) -> dict[str, Any]:
        """The create call's arguments: the operator's attributes named by the request model's fields."""
        return {name: getattr(self, name) for name in self.request_model.model_fields}

    def execute(self, context: Context) -> Any:
        """Create the work (or re-attach to an earlier try's) and wait for it.

        :returns: the :class:`~airflow_provider_livepeer.models.LivepeerResult`, whether it waited or not.
        """
        log_reattach_unavailable(self.log, self._durable_requested)
        clear_link_urls(context)
        return self.execute_resumable(context)

    # -- ResumableJobMixin ------------------------------------------------------------------------------

    def submit_job(self, context: Context) -> str:
        """Create the Livepeer task and push its ids to XCom."""
        work = self.create(self.hook)
        self._last_seen = LastSeen.of(work)
        self._not_found_until = time.time() + self.not_found_grace
        self.log.info("Started Livepeer task %s", work.task.id)
        asset = work.asset
        self._push_ids(
            context, work.task.id, asset.id if asset else None, asset.playback_id if asset else None
        )
        self.deliver(work, context)
        return work.task.id

    def deliver(self, work: CreatedWork, context: Context) -> None:
        """Give the new work what it needs from this worker before it can run, once its ids are pushed.

        Nothing by default; an upload sends its file here.
        """

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """Read the task an earlier try created, and push its id again (a new try starts with no XComs)."""
        try:
            task = self.hook.get_task(str(external_id))
        except (LivepeerNotFoundError, LivepeerPermissionError) as err:
            # Gone, or not this connection's account any more: nothing to re-attach to; start anew.
            self.log.warning("Cannot re-attach to Livepeer task %s (%s); starting new work", external_id, err)
            return TaskPhase.FAILED.value
        self._last_seen = LastSeen.of(task)
        self.log.info("An earlier try created Livepeer task %s: %s", task.id, task.describe())
        playback_id = (task.asset_spec or {}).get("playbackId")
        self._push_ids(context, task.id, task.output_asset_id, playback_id)
        return task.phase

    def _push_ids(
        self, context: Context, livepeer_task_id: str, asset_id: str | None, playback_id: str | None
    ) -> None:
        """The XComs and link of a created (or re-attached) task, the same on every try."""
        ti = context["ti"]
        ti.xcom_push(key=XCOM_LIVEPEER_TASK_ID, value=livepeer_task_id)
        self._made_asset_id = asset_id
        if asset_id is not None:
            ti.xcom_push(key=XCOM_OUTPUT_ASSET_ID, value=asset_id)
            xcom_push(ti, XCOM_PLAYBACK_ID, playback_id)
        page = LivepeerTaskLink.url(self.hook.base_url, asset_id or self.input_asset_id())
        if page:
            LivepeerTaskLink.store(context, page)

    def input_asset_id(self) -> str | None:
        """The Livepeer asset the work reads, if any (an export's)."""
        return None

    # -- OpenLineage (called by the OpenLineage provider only; see airflow_provider_livepeer.lineage) ----

    def get_openlineage_facets_on_start(self) -> OperatorLineage[Dataset, Any]:
        """What the work reads, and what it writes where that is known before the create call."""
        return operator_lineage(self.lineage_inputs(), self.lineage_outputs(None))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, Any]:
        """What the work read and wrote."""
        return operator_lineage(self.lineage_inputs(), self.lineage_outputs(self._result))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage[Dataset, Any]:
        """What the work read; of its outputs, only those named before it ran (nothing was made)."""
        return self.get_openlineage_facets_on_start()

    @property
    def api_host(self) -> str:
        """The connection's API host, the authority of ``livepeer://`` datasets."""
        return api_host(self.hook.base_url)

    def lineage_inputs(self) -> list[Dataset]:
        """The OpenLineage datasets the work reads."""
        return []

    def lineage_outputs(self, result: TaskResult | None) -> list[Dataset]:
        """The OpenLineage datasets the work writes: the asset it makes, once known."""
        asset_id = result.output_asset_id if result else self._made_asset_id
        return [livepeer_dataset(self.api_host, f"assets/{asset_id}")] if asset_id else []

    def is_job_active(self, status: str) -> bool:
        """Pending, waiting, running, or a phase this version does not know: worth re-attaching to."""
        return status not in TERMINAL_PHASES

    def is_job_succeeded(self, status: str) -> bool:
        """Completed."""
        return status == TaskPhase.COMPLETED

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait as the sensor does: in this process, or deferred to the triggerer."""
        if not self.wait_for_completion:
            # The mixin returns this on a re-attach: the same summary as a first try's.
            return self.get_job_result(external_id, context)
        if self.deferrable:
            self.defer(
                **trigger_for(
                    str(external_id),
                    self.livepeer_conn_id,
                    self.poll_interval,
                    self.timeout,
                    self.shared_polling,
                    self._last_seen,
                    self._not_found_until,
                )
            )
        self._result = wait_for_task(
            self.hook,
            str(external_id),
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            log=self.log,
            not_found_until=self._not_found_until,
        )
        return self.get_job_result(external_id, context)

    def get_job_result(self, external_id: Any, context: Context) -> LivepeerResult:
        """Publish the completed task once (XComs, links, Airflow Asset) and return its result.

        Without waiting: the same shape, with what is known right after the create call.
        """
        if not self.wait_for_completion:
            return unfinished_result(str(external_id), self._made_asset_id)
        if self._summary is None:
            result = self._result or self.hook.get_task(str(external_id)).result()
            self._summary = publish_result(context, result, self.hook, self.airflow_asset_alias)
        return self._summary

    def execute_complete(
        self, context: Context, event: Any = None, livepeer_task_id: str | None = None
    ) -> Any:
        """Resume after the trigger fired: validate its event and publish the result.

        :param livepeer_task_id: the task this instance deferred for (``defer``'s kwargs).
        """
        if livepeer_task_id is None:  # dag.test() on Airflow 3 resumes with the event, without the kwargs
            ti = context["ti"]
            livepeer_task_id = ti.xcom_pull(
                task_ids=self.task_id, key=XCOM_LIVEPEER_TASK_ID, map_indexes=ti.map_index
            )
        self._result = result_from_event(event, str(livepeer_task_id))
        return self.get_job_result(self._result.livepeer_task_id, context)
