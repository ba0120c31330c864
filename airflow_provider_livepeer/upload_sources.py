"""Where an upload's bytes come from: a local path, or a file of Airflow's object storage.

A source is a path on the worker (``/data/talk.mp4``), a URI of any scheme Airflow's object storage serves
(``file://``, ``s3://``, ``gs://``, ...; its connection as Airflow documents it: ``s3://aws_conn@bucket/key``),
or an :class:`ObjectStoragePath`. :func:`upload_source` checks it before any Livepeer work is made: it must
exist, be a file (not a folder), be readable with the credentials it has, and hold at least one byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from airflow.providers.common.compat.sdk import ObjectStoragePath


@dataclass(frozen=True)
class UploadSource:
    """A checked source: what to open, its size and its file name.

    :param path: the file.
    :param size: its size in bytes, at least 1.
    :param shown: the source as given, for messages.
    """

    path: Path | ObjectStoragePath
    size: int
    shown: str

    @property
    def filename(self) -> str:
        """The file's name, for the upload's metadata."""
        return self.path.name

    def open(self) -> IO[bytes]:
        """Open the file for reading, seekable (a tus resume seeks to the server's offset).

        :raises ValueError: it cannot be read any more, naming the source.
        """
        try:
            return self.path.open("rb")
        except Exception as err:
            raise _unreadable(self.shown, err) from None


def upload_source(source: str | os.PathLike[str] | ObjectStoragePath) -> UploadSource:
    """Check an upload's source, as given to the operator.

    :raises ValueError: naming the source and what was expected: an unknown scheme, a missing file, a
        folder, an empty file, or one that cannot be read (no credentials, no permission).
    """
    path = _path(source)
    shown = str(source)
    try:
        problem = (
            "no such file"
            if not path.exists()
            else "not a file (a folder?)"
            if not path.is_file()
            else "the file is empty"
            if path.stat().st_size < 1
            else None
        )
        if problem is None:
            with path.open("rb") as readable:
                readable.read(1)
    except Exception as err:  # each file system raises its own errors: scheme, credentials, permissions
        raise _unreadable(shown, err) from None
    if problem is not None:
        raise ValueError(f"Invalid upload source {shown!r}: {problem}; expected a video file.")
    return UploadSource(path, path.stat().st_size, shown)


def _path(source: str | os.PathLike[str] | ObjectStoragePath) -> Path | ObjectStoragePath:
    """A local :class:`Path`, or the object storage path a URI names."""
    if isinstance(source, ObjectStoragePath):
        return source
    text = os.fspath(source)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"Invalid upload source {source!r}: expected a path, a URI or an ObjectStoragePath.")
    if "://" not in text:
        return Path(text)
    parts = urlsplit(text)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        # A file of the worker's own disk, the same on every Airflow (3.0's ObjectStoragePath refuses the
        # file protocol without a connection).
        return Path(url2pathname(unquote(parts.path)))
    try:
        return ObjectStoragePath(text)
    except Exception as err:  # an unknown scheme, a malformed URI
        raise _unreadable(text, err) from None


def _unreadable(shown: str, err: Exception) -> ValueError:
    return ValueError(
        f"Invalid upload source {shown!r}: it cannot be read ({type(err).__name__}: {err}); expected a "
        "readable video file: a local path, or a URI of a file system Airflow's object storage serves "
        "(file://, s3:// with the Amazon provider, ...) with a connection that has credentials "
        "(scheme://conn_id@bucket/key)."
    )
