"""TLS contexts of CA bundles for the async client, built once per bundle as it is on disk."""

from __future__ import annotations

import functools
import os
import ssl


def tls_context(bundle: str) -> ssl.SSLContext:
    """A certificate-checking TLS context of a CA bundle as it is now on disk.

    Contexts are cached (building one costs ~30 ms of CPU, per client), by the bundle's path and its
    file's identity, time and size: a replaced bundle (a rotated CA) is read anew by the next hook of a
    long-running triggerer.
    """
    stat = os.stat(bundle)
    return _tls_context(bundle, stat.st_ino, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _tls_context(bundle: str, *version: int) -> ssl.SSLContext:
    """``version``: the bundle's inode, modification time and size, the cache key beside its path."""
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)
