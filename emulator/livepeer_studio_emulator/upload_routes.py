"""The upload endpoints a request-upload's answer points at: tus 1.0 and the direct ``PUT``.

tus 1.0 core protocol with the creation and expiration extensions, as Livepeer's upload server speaks it:

* ``OPTIONS /api/asset/upload/tus``: the versions, extensions and largest size;
* ``POST /api/asset/upload/tus?token=T`` with ``Upload-Length``: 201, ``Location`` of the new upload;
* ``HEAD /api/asset/upload/tus/{id}``: its ``Upload-Offset`` and ``Upload-Length`` (a resume starts there);
* ``PATCH /api/asset/upload/tus/{id}`` with ``Upload-Offset`` and ``Content-Type:
  application/offset+octet-stream``: appends the body, 204 with the new offset; an offset that is not the
  upload's is a 409, a body past ``Upload-Length`` a 400, a ``PATCH`` while another one writes a 423;
* ``PUT /api/asset/upload/direct?token=T``: the whole file in one body, 200.

Every tus answer carries ``Tus-Resumable: 1.0.0``, and one without it in a request is a 412. The bytes a
request brought are kept even when its connection breaks, as a tus server does. No API key: the token is
the credential. A body is streamed to disk as it arrives, never held whole.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping

from fastapi import FastAPI, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.faults import drop_connection
from livepeer_studio_emulator.uploads import TUS_PATH, Upload, Uploads

TUS_VERSION = "1.0.0"
TUS_CONTENT_TYPE = "application/offset+octet-stream"
#: The largest upload the tus server takes (Livepeer's documented limit is far above any test).
TUS_MAX_SIZE = 30 * 1024**3
_TUS = {"Tus-Resumable": TUS_VERSION}


class _DroppedConnection(Response):
    """What a fault answers mid-upload: the connection breaks, with no complete answer."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await drop_connection(send)


def add_upload_routes(app: FastAPI, state: Uploads) -> None:
    """Add the tus and direct-upload endpoints to the emulator's app."""

    @app.options(TUS_PATH)
    def tus_options() -> Response:
        return Response(
            status_code=204,
            headers={
                **_TUS,
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": "creation,expiration",
                "Tus-Max-Size": str(TUS_MAX_SIZE),
            },
        )

    @app.post(TUS_PATH)
    def tus_create(request: Request) -> Response:
        _check_version(request.headers)
        upload = state.upload_of_token(request.query_params.get("token"))
        length = _header_int(request.headers, "Upload-Length")
        if length > TUS_MAX_SIZE:
            raise ApiError(413, f"Upload-Length exceeds the largest upload, {TUS_MAX_SIZE}", headers=_TUS)
        tus_id = state.create_tus_upload(upload, length)
        location = f"{str(request.base_url).rstrip('/')}{TUS_PATH}/{tus_id}"
        return Response(status_code=201, headers={**_TUS, "Location": location, **_expires(upload)})

    @app.head(f"{TUS_PATH}/{{tus_id}}")
    def tus_head(request: Request, tus_id: str) -> Response:
        _check_version(request.headers)
        upload = _tus_upload(state, tus_id)
        headers = {**_TUS, "Upload-Offset": str(upload.offset), "Cache-Control": "no-store"}
        if upload.length is not None:
            headers["Upload-Length"] = str(upload.length)
        return Response(status_code=200, headers={**headers, **_expires(upload)})

    @app.patch(f"{TUS_PATH}/{{tus_id}}")
    async def tus_patch(request: Request, tus_id: str) -> Response:
        _check_version(request.headers)
        if request.headers.get("Content-Type") != TUS_CONTENT_TYPE:
            raise ApiError(415, f"Content-Type must be {TUS_CONTENT_TYPE}", headers=_TUS)
        upload = _tus_upload(state, tus_id)
        offset = _header_int(request.headers, "Upload-Offset")
        if offset != upload.offset:
            raise ApiError(
                409,
                f"Upload-Offset {offset} does not match the upload's offset {upload.offset}",
                headers=_TUS,
            )
        answer = await _receive(state, upload, request)
        return answer or Response(status_code=204, headers={**_TUS, "Upload-Offset": str(upload.offset)})

    @app.put("/api/asset/upload/direct")
    async def direct_upload(request: Request) -> Response:
        upload = state.upload_of_token(request.query_params.get("token"))
        declared = request.headers.get("Content-Length")
        length = int(declared) if declared and declared.isdigit() else None
        return await _receive(state, upload, request, direct=True, length=length) or Response(status_code=200)


async def _receive(
    state: Uploads, upload: Upload, request: Request, *, direct: bool = False, length: int | None = None
) -> Response | None:
    """Write a request's body at the upload's offset as it arrives; finish the upload once complete.

    :param direct: a direct ``PUT``: the body is the whole file, written from its start.
    :param length: the ``PUT``'s ``Content-Length``, if it announced one.
    :returns: ``None`` when the body was received, or the answer that breaks the connection (a fault).
    :raises ApiError: 423 while another request writes this upload; 400 for bytes past its length.
    """
    if upload.busy:
        raise ApiError(423, "another request is writing this upload", headers=_TUS)
    if direct:  # the whole file again, from its start
        upload.length, upload.offset = length, 0
    upload.busy = True
    try:
        with upload.path.open("r+b") as file:
            file.seek(upload.offset)
            async for chunk in request.stream():
                end = upload.offset + len(chunk)
                if upload.length is not None and end > upload.length:
                    raise ApiError(400, f"the body goes past Upload-Length {upload.length}", headers=_TUS)
                drop = state.faults.take_upload_drop(upload.offset, end)
                if drop is not None:
                    file.write(chunk[: drop - upload.offset])
                    upload.offset = drop
                    return _DroppedConnection()
                file.write(chunk)
                upload.offset = end
    except ClientDisconnect:
        return _DroppedConnection()  # no one reads it: the bytes that came are kept
    finally:
        upload.busy = False
    if upload.length is None:  # a direct PUT without Content-Length: its body is the file
        upload.length = upload.offset
    if upload.offset == upload.length:
        state.finish_upload(upload)
    return None


def _tus_upload(state: Uploads, tus_id: str) -> Upload:
    try:
        return state.tus_upload(tus_id)
    except ApiError as err:
        raise ApiError(err.status, *err.messages, headers=_TUS) from None


def _check_version(headers: Mapping[str, str]) -> None:
    if headers.get("Tus-Resumable") != TUS_VERSION:
        raise ApiError(412, f"Tus-Resumable {TUS_VERSION} is required", headers={"Tus-Version": TUS_VERSION})


def _header_int(headers: Mapping[str, str], name: str) -> int:
    value = headers.get(name, "")
    if not value.isdigit():
        raise ApiError(400, f"{name} must be a non-negative integer, not {value!r}", headers=_TUS)
    return int(value)


def _expires(upload: Upload) -> dict[str, str]:
    return {"Upload-Expires": email.utils.formatdate(upload.expires_ms / 1000, usegmt=True)}
