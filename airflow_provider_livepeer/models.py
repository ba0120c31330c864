"""Typed views of what Livepeer Studio returns: tasks and assets.

Livepeer's JSON is parsed here and nowhere else. The models keep fields they do not know (Livepeer adds
fields over time), expose the ones the provider relies on under Python names, and turn a body of the wrong
shape into :class:`~airflow_provider_livepeer.exceptions.LivepeerBadResponseError`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from airflow_provider_livepeer.exceptions import LivepeerBadResponseError


class TaskPhase(str, Enum):
    """The phases of a Livepeer task's ``status.phase``."""

    PENDING = "pending"
    WAITING = "waiting"
    RUNNING = "running"
    FAILED = "failed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


#: Phases after which a task never changes again.
TERMINAL_PHASES = frozenset({TaskPhase.COMPLETED, TaskPhase.FAILED, TaskPhase.CANCELLED})
#: Terminal phases that mean the work was not done.
FAILURE_PHASES = frozenset({TaskPhase.FAILED, TaskPhase.CANCELLED})

# Where a finished task keeps the spec of the asset it produced: ``import`` in older tasks and the
# documentation, ``upload`` for imports today, ``clip`` for clips.
_ASSET_SPEC_OUTPUT_KEYS = ("upload", "import", "clip")


class _LivepeerModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class _Answer(_LivepeerModel):
    """A whole answer of Livepeer's (not a part of one), which knows when the server gave it."""

    _answered_at: float | None = PrivateAttr(default=None)

    @property
    def answered_at(self) -> float | None:
        """The server's clock when it sent this object (its ``Date`` header, Unix seconds), if known.

        Set by :func:`parse`; a change made after this moment has a later ``updatedAt`` (give or take the
        server's clock skew).
        """
        return self._answered_at


class TaskStatus(_LivepeerModel):
    """A task's ``status`` object."""

    phase: str
    updated_at: float | None = Field(default=None, alias="updatedAt")
    progress: float | None = None
    error_message: str | None = Field(default=None, alias="errorMessage")
    retries: int = 0


class Task(_Answer):
    """A Livepeer task (``GET /api/task/{id}``).

    ``phase`` is kept as the string Livepeer sent, so a phase this version does not know is not an error;
    :attr:`known_phase` maps it to :class:`TaskPhase` when it is one of the documented ones.
    """

    id: str
    type: str | None = None
    status: TaskStatus
    created_at: float | None = Field(default=None, alias="createdAt")
    input_asset_id: str | None = Field(default=None, alias="inputAssetId")
    output_asset_id: str | None = Field(default=None, alias="outputAssetId")
    params: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)

    @property
    def phase(self) -> str:
        """The raw ``status.phase``."""
        return self.status.phase

    @property
    def known_phase(self) -> TaskPhase | None:
        """``status.phase`` as a :class:`TaskPhase`, or ``None`` for a phase this version does not know."""
        try:
            return TaskPhase(self.status.phase)
        except ValueError:
            return None

    @property
    def is_terminal(self) -> bool:
        """Whether the task has finished, one way or the other."""
        return self.known_phase in TERMINAL_PHASES

    @property
    def is_failed(self) -> bool:
        """Whether the task ended ``failed`` or ``cancelled``."""
        return self.known_phase in FAILURE_PHASES

    @property
    def progress(self) -> float | None:
        """``status.progress``, a 0..1 ratio."""
        return self.status.progress

    @property
    def error_message(self) -> str | None:
        """Livepeer's ``status.errorMessage``: why it failed, or why it is being retried remotely."""
        return self.status.error_message

    @property
    def retries(self) -> int:
        """How many times Livepeer has retried the task."""
        return self.status.retries

    @property
    def updated_at(self) -> float | None:
        """``status.updatedAt`` in Unix milliseconds."""
        return self.status.updated_at

    def describe(self) -> str:
        """One log line on where the task stands, e.g. ``Livepeer upload task abc is running (42%)``.

        A ``waiting`` task with an ``errorMessage`` is being retried by Livepeer; the line says so.
        """
        line = f"Livepeer {self.type or 'unknown-type'} task {self.id} is {self.phase}"
        if self.progress is not None and not self.is_terminal:
            line += f" ({self.progress:.0%})"
        if self.known_phase is None:
            line += " (a phase this provider does not know: still waiting)"
        if self.error_message and self.is_failed:
            line += f": {self.error_message}"
        elif self.error_message and not self.is_terminal:
            line += f"; Livepeer is retrying it (retry {self.retries}) after: {self.error_message}"
        return line

    def result(self) -> TaskResult:
        """What a finished task hands downstream (XCom, trigger events)."""
        return TaskResult(
            livepeer_task_id=self.id,
            type=self.type,
            phase=self.phase,
            input_asset_id=self.input_asset_id,
            output_asset_id=self.output_asset_id,
            asset_spec=self.asset_spec,
            output=self.output,
            error_message=self.error_message,
        )

    @property
    def asset_spec(self) -> dict[str, Any] | None:
        """The produced asset's ``assetSpec``, exactly as Livepeer returned it, or ``None``."""
        for key in _ASSET_SPEC_OUTPUT_KEYS:
            section = self.output.get(key)
            spec = section.get("assetSpec") if isinstance(section, dict) else None
            if isinstance(spec, dict):
                return spec
        return None


class TaskState(_LivepeerModel):
    """The part of a listed task a watcher compares: its id and ``status``.

    About a third of a :class:`Task`'s parsing cost: a list page is read this way first, and only the
    tasks that changed are parsed whole.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    status: TaskStatus


class TaskPage:
    """One page of ``GET /api/task``: its tasks, parsed as asked for, and the server's clock then.

    :param items: the page's JSON array.
    :param answered_at: the server's ``Date`` when it answered, Unix seconds.
    :param what: the request's label (``GET /api/task`` under the connection's path), for messages.
    """

    def __init__(self, items: list[Any], answered_at: float | None, what: str) -> None:
        self._items = items
        self.answered_at = answered_at
        self.what = what

    def __len__(self) -> int:
        return len(self._items)

    def states(self) -> list[TaskState]:
        """Each task's id and status, in the page's order."""
        return [parse(TaskState, item, self.what) for item in self._items]

    def task(self, index: int) -> Task:
        """The whole task at ``index``."""
        return parse(Task, self._items[index], self.what, self.answered_at)

    def tasks(self) -> list[Task]:
        """Every task of the page, whole."""
        return [self.task(index) for index in range(len(self._items))]


class TaskResult(BaseModel):
    """The part of a finished task that Airflow keeps: small, JSON-safe, never the whole API payload.

    It travels in trigger events and is what the sensor and operators push to XCom.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    livepeer_task_id: str
    type: str | None
    phase: str
    input_asset_id: str | None = None
    output_asset_id: str | None = None
    asset_spec: dict[str, Any] | None = None
    output: dict[str, Any] = Field(default_factory=dict)
    error_message: str | None = None

    def summary(self) -> LivepeerResult:
        """What the sensor and a waiting operator return."""
        return LivepeerResult(
            livepeer_task_id=self.livepeer_task_id,
            type=self.type,
            phase=self.phase,
            output_asset_id=self.output_asset_id,
        )


class LivepeerResult(TypedDict):
    """What every Livepeer operator and the sensor return (their ``return_value`` XCom).

    The same keys whether the task waited for Livepeer or not; what is not known yet is ``None``.

    * ``livepeer_task_id``: the Livepeer task.
    * ``type``: Livepeer's task type (``upload``, ``export``, ``transcode-file``, ``clip``, ...), once read.
    * ``phase``: how the task ended (``completed``), once it has; ``None`` for an operator that did not wait.
    * ``output_asset_id``: the asset the task makes, as soon as Livepeer names it; ``None`` for exports
      and transcodes, which make none.
    """

    livepeer_task_id: str
    type: str | None
    phase: str | None
    output_asset_id: str | None


def unfinished_result(livepeer_task_id: str, output_asset_id: str | None) -> LivepeerResult:
    """The result of an operator that started a task and did not wait for it."""
    return LivepeerResult(
        livepeer_task_id=livepeer_task_id, type=None, phase=None, output_asset_id=output_asset_id
    )


class AssetStatus(_LivepeerModel):
    """An asset's ``status`` object."""

    phase: str
    updated_at: float | None = Field(default=None, alias="updatedAt")
    progress: float | None = None
    error_message: str | None = Field(default=None, alias="errorMessage")


class Asset(_Answer):
    """A Livepeer asset (``GET /api/asset/{id}``)."""

    id: str
    name: str | None = None
    playback_id: str | None = Field(default=None, alias="playbackId")
    status: AssetStatus | None = None
    size: int | None = None
    hash: list[dict[str, Any]] | None = None
    video_spec: dict[str, Any] | None = Field(default=None, alias="videoSpec")
    source: dict[str, Any] | None = None
    created_at: float | None = Field(default=None, alias="createdAt")

    @property
    def phase(self) -> str | None:
        """The raw ``status.phase`` (``waiting``, ``processing``, ``ready``, ...)."""
        return self.status.phase if self.status else None


class TaskRef(_LivepeerModel):
    """The ``{"id": ...}`` reference to a task that the create calls return."""

    id: str


class CreatedWork(_Answer):
    """What a create call answered: the task it started and, for imports and clips, the new asset.

    ``POST /api/asset/upload/url`` and ``POST /api/clip`` answer ``{asset, task: {id}}``;
    ``POST /api/asset/{id}/export`` answers ``{task}``; ``POST /api/transcode`` answers the task itself.
    """

    task: TaskRef
    asset: Asset | None = None


class RequestedUpload(CreatedWork):
    """``POST /api/asset/request-upload``'s answer: the new asset, its task, and where its bytes go.

    Both URLs carry the upload's token: they are credentials for this one asset, never logged.
    """

    #: One ``PUT`` of the whole file.
    url: str = Field(repr=False)
    #: The tus 1.0 endpoint where a resumable upload is created.
    tus_endpoint: str = Field(alias="tusEndpoint", repr=False)


class Webhook(_Answer):
    """A Livepeer webhook (``GET /api/webhook/{id}``).

    Fields it does not name are dropped, not kept: Livepeer's answer to a create call echoes the shared
    secret, which must not live on in an object that may be logged.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    id: str
    name: str | None = None
    url: str | None = None
    events: list[str] = Field(default_factory=list)
    created_at: float | None = Field(default=None, alias="createdAt")
    stream_id: str | None = Field(default=None, alias="streamId")
    #: ``lastTriggeredAt`` and ``lastFailure`` (``timestamp``, ``statusCode``, ``error``).
    status: dict[str, Any] | None = None


_ModelT = TypeVar("_ModelT", bound=BaseModel)


def parse(model: type[_ModelT], data: Any, what: str, answered_at: float | None = None) -> _ModelT:
    """Validate one JSON value as ``model``.

    :param model: the model class.
    :param data: the decoded JSON.
    :param what: what the body was meant to be, for the error message (e.g. ``GET /api/task/x``).
    :param answered_at: the server's clock when it answered (Unix seconds), kept as the object's
        ``answered_at``.
    :raises LivepeerBadResponseError: the body is not of the expected shape.
    """
    try:
        parsed = model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}" for e in err.errors()[:5]
        )
        raise LivepeerBadResponseError(
            f"Livepeer answered {what} with a body that is not a {model.__name__}: {problems}"
        ) from None
    if isinstance(parsed, _Answer):
        parsed._answered_at = answered_at
    return parsed
