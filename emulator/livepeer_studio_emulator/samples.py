"""Sample inputs for the emulator: real videos made on the spot, and S3 locations for transcodes.

:func:`make_sample_video` needs PyAV (a dependency of the emulator), which ships FFmpeg's encoders: the
file is a genuine H.264/AAC MP4 that any player, and the emulator's probe, can read.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

#: A transcode input on S3. The emulator fetches nothing from S3, so a transcode of it starts at once.
S3_INPUT: dict[str, Any] = {
    "type": "s3",
    "endpoint": "https://s3.example.invalid",
    "bucket": "in",
    "path": "/video.mp4",
    "credentials": {"accessKeyId": "AK", "secretAccessKey": "SK"},
}
#: The storage of a transcode's outputs: :data:`S3_INPUT`'s endpoint and credentials, another bucket.
S3_OUTPUT: dict[str, Any] = {**{k: v for k, v in S3_INPUT.items() if k != "path"}, "bucket": "out"}


def make_sample_video(
    path: str | Path, *, seconds: float = 2.0, width: int = 320, height: int = 240, fps: int = 24
) -> Path:
    """Write a short MP4 (H.264 video with a moving bar, AAC silence) and return its path.

    :param path: where to write it.
    :param seconds: its duration.
    :param width: the video width, an even number of pixels.
    :param height: the video height, an even number of pixels.
    :param fps: frames per second.
    :raises ImportError: PyAV is not installed.
    """
    import av

    path = Path(path)
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "35"}
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        frames = round(seconds * fps)
        chroma = bytes([128]) * ((width // 2) * (height // 2))
        for index in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            bar = index * width // max(frames, 1)
            luma = bytearray(b"\x20" * (width * height))
            for row in range(height // 3, 2 * height // 3):
                luma[row * width + bar : row * width + min(bar + width // 8, width)] = b"\xe0" * min(
                    width // 8, width - bar
                )
            _fill(frame, [bytes(luma), chroma, chroma])
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        samples, per_frame = round(seconds * 44100), 1024
        for start in range(0, samples, per_frame):
            silence = av.AudioFrame(format="fltp", layout="stereo", samples=per_frame)
            for plane in silence.planes:
                plane.update(bytes(plane.buffer_size))
            silence.sample_rate, silence.pts = 44100, start
            container.mux(audio.encode(silence))
        container.mux(audio.encode())
    return path


def _fill(frame: object, planes: list[bytes]) -> None:
    """Copy each video plane's bytes in, honouring the line padding FFmpeg may add."""
    for plane, data in zip(frame.planes, planes, strict=True):  # type: ignore[attr-defined]
        stride, rows = plane.line_size, plane.buffer_size // plane.line_size
        width = len(data) // rows
        if stride == width:
            plane.update(data)
        else:
            padded = bytearray(plane.buffer_size)
            for row in range(rows):
                padded[row * stride : row * stride + width] = data[row * width : (row + 1) * width]
            plane.update(bytes(padded))
