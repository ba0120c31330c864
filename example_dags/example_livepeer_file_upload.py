"""Render a clip on the worker, upload the file to Livepeer, then use the new asset.

``render_clip`` draws a two-second fade with PyAV (``pip install av``) into a file; ``upload_clip``
(``LivepeerUploadOperator``) sends it to Livepeer over tus, resumable, and waits until Livepeer has
processed it; ``describe_asset`` reads what Livepeer made of it. The file must be where the uploading
worker can read it: here both tasks run on one machine (its temporary folder); across workers, write it to
object storage and give the operator its URI (``s3://conn_id@bucket/key``).

``LIVEPEER_EXAMPLE_POLL_INTERVAL`` (seconds, default 10) sets how often Livepeer is asked; tests against
the local emulator set it low.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.upload import LivepeerUploadOperator

POLL_INTERVAL = float(os.environ.get("LIVEPEER_EXAMPLE_POLL_INTERVAL", "10"))
FPS, WIDTH, HEIGHT = 24, 320, 240


@task
def render_clip(ts_nodash: str) -> str:
    """Draw two seconds of H.264 video, black fading to white, and return the file's path."""
    import av

    path = Path(tempfile.gettempdir()) / f"livepeer-example-clip-{ts_nodash}.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(2 * FPS):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            for plane, value in zip(frame.planes, (16 + 4 * index, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)  # one shade per plane: padding is moot
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return str(path)


@task
def describe_asset(asset_spec: dict[str, Any]) -> dict[str, Any]:
    """What a pipeline would act on next: the asset's playback id, size and duration."""
    video = asset_spec.get("videoSpec") or {}
    summary = {
        "playback_id": asset_spec.get("playbackId"),
        "size": asset_spec.get("size"),
        "duration": video.get("duration"),
    }
    print(f"Livepeer asset {asset_spec.get('id')}: {summary}")
    return summary


with DAG(
    "example_livepeer_file_upload",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["livepeer", "example"],
    doc_md=__doc__,
) as dag:
    clip = render_clip()
    # [START howto_operator_livepeer_upload]
    upload = LivepeerUploadOperator(
        task_id="upload_clip",
        source=clip,
        name="{{ dag.dag_id }} {{ ts_nodash }}",
        poll_interval=POLL_INTERVAL,
    )
    # [END howto_operator_livepeer_upload]
    describe_asset(upload.output["asset_spec"])
