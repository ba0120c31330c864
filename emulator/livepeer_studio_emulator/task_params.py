"""What a new task records from its request body: its ``params`` and its asset's echoed fields.

Livepeer stores a request's fields in the task's ``params`` with a few changes, made here: object-store
credentials are folded into masked ``s3+https://***:***@host/bucket`` URLs, paths gain a leading ``/``,
a string ``creatorId`` becomes ``{"type": "unverified", "value": ...}`` on an asset, numbers keep the
form the client sent, and write-only secrets (Piñata keys) are never shown back.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from livepeer_studio_emulator import payloads

#: Livepeer's default trusted gateways (``parse-cli.ts``): imports from them are stored by content address.
TRUSTED_IPFS_GATEWAYS = ("https://ipfs.livepeer.studio/ipfs/",)
TRUSTED_ARWEAVE_GATEWAYS = ("https://arweave.net/", "https://gateway.arweave.net/")


def number(value: float) -> int | float:
    """A JSON number as the client sent it (pydantic made ``5`` into ``5.0``)."""
    return int(value) if float(value).is_integer() else value


def object_store_url(endpoint: str, bucket: str) -> str:
    """``s3+https://***:***@host/bucket``: Livepeer builds it with the credentials and masks them."""
    parts = urlsplit(endpoint)
    return f"s3+{parts.scheme}://***:***@{parts.netloc}/{bucket}"


def import_fields(payload: payloads.NewAssetPayload) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new asset's fields (``playbackPolicy``, ``creatorId``, ``profiles``) and its ``params.upload``.

    An import's ``params.upload`` names its ``url``; a direct upload's has none.
    """
    extra: dict[str, Any] = {}
    if payload.playbackPolicy is not None:
        extra["playbackPolicy"] = payloads.dump(payload.playbackPolicy)
    if payload.creatorId is not None:
        creator = payload.creatorId
        extra["creatorId"] = (
            {"type": "unverified", "value": creator} if isinstance(creator, str) else payloads.dump(creator)
        )
    if payload.profiles is not None:
        extra["profiles"] = [payloads.dump(profile) for profile in payload.profiles]
    params: dict[str, Any] = {"url": payload.url} if isinstance(payload, payloads.NewAssetFromUrl) else {}
    if payload.c2pa is not None:
        params["c2pa"] = payload.c2pa
    if payload.profiles is not None:
        params["profiles"] = extra["profiles"]
    if payload.targetSegmentSizeSecs is not None:
        params["targetSegmentSizeSecs"] = number(payload.targetSegmentSizeSecs)
    return extra, params


def import_source(url: str) -> dict[str, Any]:
    """An import's asset ``source``: ``{"type": "url", "url"}``, a trusted gateway's URL rewritten.

    As Livepeer's ``parseUrlToDStorageUrl`` with its default gateways: a URL under a trusted IPFS gateway
    whose path is ``/ipfs/<cid>[/path]`` becomes ``ipfs://<cid>[/path]``, one under a trusted Arweave
    gateway ``ar://<path>``; the query string is dropped and the URL given is kept as ``gatewayUrl``.
    The task's ``params.upload.url`` stays the URL given.
    """
    path = urlsplit(url).path.split("/")
    if path and path[0] == "":
        path = path[1:]
    if len(path) >= 2 and path[0] == "ipfs":
        if url.startswith(TRUSTED_IPFS_GATEWAYS):
            return {"type": "url", "url": "ipfs://" + "/".join(path[1:]), "gatewayUrl": url}
    elif path and url.startswith(TRUSTED_ARWEAVE_GATEWAYS):
        return {"type": "url", "url": "ar://" + "/".join(path), "gatewayUrl": url}
    return {"type": "url", "url": url}


def export_shown(params: payloads.CustomExportParams | payloads.IpfsExportParams) -> dict[str, Any]:
    """``params.export`` of an export task."""
    if isinstance(params, payloads.CustomExportParams):
        return {"custom": payloads.dump(params.custom)}
    # Piñata credentials are write-only on Livepeer: never shown back.
    return {"ipfs": payloads.dump(params.ipfs.model_copy(update={"pinata": None}))}


def transcode_params(payload: payloads.TranscodePayload) -> tuple[dict[str, Any], str]:
    """``params.transcode-file`` of a transcode, and its input URL as shown there."""
    if isinstance(payload.input, payloads.UrlInput):
        input_url = payload.input.url
    else:
        path = payload.input.path if payload.input.path.startswith("/") else f"/{payload.input.path}"
        input_url = object_store_url(payload.input.endpoint, payload.input.bucket) + path
    if isinstance(payload.storage, payloads.S3Storage):
        storage_url = object_store_url(payload.storage.endpoint, payload.storage.bucket)
    else:
        proof = payload.storage.credentials.proof
        storage_url = f"w3s://{base64.urlsafe_b64encode(proof.encode()).decode().rstrip('=')}@/"
    outputs = payloads.dump(payload.outputs)
    for output in outputs.values():
        if not output["path"].startswith("/"):
            output["path"] = f"/{output['path']}"
    params: dict[str, Any] = {
        "input": {"url": input_url},
        "storage": {"url": storage_url},
        "outputs": outputs,
    }
    if payload.profiles is not None:
        params["profiles"] = [payloads.dump(profile) for profile in payload.profiles]
    if payload.targetSegmentSizeSecs is not None:
        params["targetSegmentSizeSecs"] = number(payload.targetSegmentSizeSecs)
    if payload.creatorId is not None:
        creator = payload.creatorId
        params["creatorId"] = creator if isinstance(creator, str) else payloads.dump(creator)
    if payload.c2pa is not None:
        params["c2pa"] = payload.c2pa
    return params, input_url


def clip_params(payload: payloads.ClipPayload, stream_id: str, session_id: str) -> dict[str, Any]:
    """``params.clip`` of a clip of a stream's recording session."""
    strategy: dict[str, Any] = {"playbackId": payload.playbackId, "startTime": number(payload.startTime)}
    if payload.endTime is not None:
        strategy["endTime"] = number(payload.endTime)
    return {
        "clipStrategy": strategy,
        "url": f"https://recordings.livepeer-emulator.invalid/{stream_id}/{session_id}/output.m3u8",
        "sessionId": session_id,
        "inputId": stream_id,
    }
