"""Clip a highlight out of a livestream's recording, transcode a raw file into your storage, then clean up.

``clip_highlight`` (``LivepeerClipOperator``) makes a new asset of a livestream's recording between two
Unix times in milliseconds; ``transcode_to_storage`` (``LivepeerTranscodeOperator``) writes HLS and MP4
renditions of a source file into an S3-compatible bucket, whose keys come from the connection
``livepeer_transcode_storage`` (login: the access key id, password: the secret); ``delete_highlight``
(``LivepeerDeleteAssetOperator``) deletes the clip once the transcode is done, as a pipeline deletes what it
made for a one-off use. Every argument of the operators is templated: the stream, the times, the source
and the bucket come from DAG params.

``LIVEPEER_EXAMPLE_POLL_INTERVAL`` (seconds, default 10) sets how often Livepeer is asked; tests against
the local emulator set it low.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, Param

# [START howto_operator_livepeer_media_imports]
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerDeleteAssetOperator,
    LivepeerTranscodeOperator,
)

# [END howto_operator_livepeer_media_imports]

POLL_INTERVAL = float(os.environ.get("LIVEPEER_EXAMPLE_POLL_INTERVAL", "10"))

with DAG(
    "example_livepeer_highlights",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "livepeer_conn_id": Param("livepeer_default", type="string", description="The livepeer connection."),
        "stream_playback_id": Param("", type="string", description="The livestream's playback id."),
        "start_ms": Param(0, type="integer", description="Where the highlight starts, Unix milliseconds."),
        "end_ms": Param(0, type="integer", description="Where it ends, Unix milliseconds."),
        "source_url": Param("", type="string", description="The raw file to transcode: an http(s) URL."),
        "storage_endpoint": Param("", type="string", description="The S3-compatible storage's endpoint."),
        "storage_bucket": Param("", type="string", description="The bucket the renditions go to."),
    },
    tags=["livepeer", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_livepeer_clip]
    clip = LivepeerClipOperator(
        task_id="clip_highlight",
        livepeer_conn_id="{{ params.livepeer_conn_id }}",
        playback_id="{{ params.stream_playback_id }}",  # a livestream's playback id
        start_time="{{ params.start_ms }}",  # Unix milliseconds, a number or a numeric string
        end_time="{{ params.end_ms }}",
        name="{{ dag.dag_id }} highlight {{ ds }}",
        poll_interval=POLL_INTERVAL,
    )
    # [END howto_operator_livepeer_clip]

    # [START howto_operator_livepeer_transcode]
    transcode = LivepeerTranscodeOperator(
        task_id="transcode_to_storage",
        livepeer_conn_id="{{ params.livepeer_conn_id }}",
        input="{{ params.source_url }}",  # or Livepeer's S3 input object
        storage={
            "type": "s3",
            "endpoint": "{{ params.storage_endpoint }}",
            "bucket": "{{ params.storage_bucket }}",
            "credentials": {
                "accessKeyId": "{{ conn.livepeer_transcode_storage.login }}",
                "secretAccessKey": "{{ conn.livepeer_transcode_storage.password }}",
            },
        },
        outputs={"hls": {"path": "/{{ ds }}/hls"}, "mp4": {"path": "/{{ ds }}/mp4"}},
        poll_interval=POLL_INTERVAL,
        deferrable=True,  # wait in the triggerer
    )
    # [END howto_operator_livepeer_transcode]

    # [START howto_operator_livepeer_delete]
    delete = LivepeerDeleteAssetOperator(
        task_id="delete_highlight",
        livepeer_conn_id="{{ params.livepeer_conn_id }}",
        asset_id=clip.output["output_asset_id"],
        missing_ok=True,  # an asset already gone is not an error
    )
    # [END howto_operator_livepeer_delete]

    [clip, transcode] >> delete
