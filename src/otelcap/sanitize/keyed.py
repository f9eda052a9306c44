"""The per-installation key and the keyed hash of content and identity values.

Plain SHA-256 of a short prompt or an email can be reversed by hashing guesses; an HMAC with
a secret key cannot, while equal values still hash equally (prompts and users still group).
The key is 32 random bytes kept in the data directory, readable by its owner only, created
on first use and never rotated by otelcap (rotating it would split every group in two).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from otelcap.errors import ConfigError
from otelcap.files import private_dir

log = logging.getLogger(__name__)

KEY_FILE = "privacy.key"
PREFIX = "hmac-sha256:"
_KEY_BYTES = 32


def load_or_create_key(data_dir: Path) -> bytes:
    """The installation's key, created (0600, directory 0700) when it does not exist yet."""
    path = data_dir / KEY_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    try:
        return _create(data_dir, path)
    except OSError as exc:
        raise ConfigError(f"cannot create the privacy key {path}: {exc}") from None


def _create(data_dir: Path, path: Path) -> bytes:
    private_dir(data_dir)
    # Write a temporary file, then link it into place: link fails if another process won
    # the race, and nobody ever reads a half-written key.
    tmp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
        try:
            os.link(tmp, path)
            log.info("created the privacy key %s", path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ConfigError(
            f"the privacy key {path} is damaged (expected {2 * _KEY_BYTES} hex digits). "
            "Restore it from a backup; deleting it makes new hashes differ from stored ones."
        )
    if path.stat().st_mode & 0o077:
        log.warning("the privacy key %s was readable by others; setting it to 0600", path)
        path.chmod(0o600)
    return key


class KeyedHash:
    """value → 'hmac-sha256:<64 hex>:<length>'. The length (in characters) is kept because
    it is useful (prompt size, tool input size) and says nothing about the content."""

    def __init__(self, key: bytes) -> None:
        # HMAC (RFC 2104) with its two keyed SHA-256 states computed once: copying them costs
        # a third of hmac.new() per value, which matters at tens of thousands per batch.
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __call__(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return f"{PREFIX}{outer.hexdigest()}:{len(value)}"
