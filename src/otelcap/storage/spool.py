"""The spool: flushes the store could not take, kept on disk until it takes them.

A request is acknowledged only once its rows are committed. With ClickHouse, "committed"
is "in ClickHouse, or in the spool": when the server is unreachable or refuses an insert, the
flush is written here and the requests are acknowledged; a replayer thread sends the spooled
flushes, oldest first, when the server answers again, and survives restarts (what is here when
otelcap starts is sent first). While anything is spooled, new flushes are spooled behind it, so
the store receives flushes in the order they were acknowledged.

Exactly once: each flush gets a deduplication token when it is first tried, stored with it in
the spool and sent with every attempt; a store that `deduplicates` (ClickHouse) skips a flush
it already has, so a flush whose answer was lost, or that failed half way through its tables,
is not stored twice. A file is deleted only after the store took it.

Files: <dir>/<seq>.arrows, seq increasing with each flush. One Arrow IPC stream per table,
zstd-compressed (205 bytes a row instead of 914; lz4 encodes twice as fast but keeps 309,
and either writes ~400k rows/s, far above ingest), the table name and token in the stream's
schema metadata. Written to a .tmp file, fsync'd, renamed, and the directory fsync'd: after a
crash a file is complete or absent, and a .tmp left behind was never acknowledged.

Beyond `max_bytes` the spool refuses (Overloaded): the receiver answers "retry later", and the
clients keep the data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from otelcap.errors import ConfigError, Overloaded, StoreUnavailable
from otelcap.files import private_dir
from otelcap.storage.base import DedupTokens, Store

log = logging.getLogger(__name__)

SUFFIX = ".arrows"
TABLE_KEY, TOKEN_KEY = b"otelcap.table", b"otelcap.token"
# Retry an unreachable store after 0.5 s, doubling to at most 30 s: quick when it was a blip,
# quiet (one log line per 30 s) when it is down for hours.
MIN_RETRY_S, MAX_RETRY_S = 0.5, 30.0
_IPC = pa.ipc.IpcWriteOptions(compression="zstd")


class SpoolCorrupt(Exception):
    """A spool file that cannot be read (disk damage): set aside, not retried forever."""


class Spool:
    """The directory of spooled flushes. `put` is called by one writer; `oldest`, `read` and
    `remove` by one replayer; the byte count is safe to read from any thread."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        private_dir(self.directory)
        self._lock_file = _lock(self.directory)
        for stale in self.directory.glob(f"*{SUFFIX}.tmp"):
            stale.unlink()  # a crash mid-write: never acknowledged, so nothing is lost
        self._sizes: dict[int, int] = {}
        for path in self.directory.glob(f"*{SUFFIX}"):
            with contextlib.suppress(ValueError):
                self._sizes[int(path.name[: -len(SUFFIX)])] = path.stat().st_size
        self._next = max(self._sizes, default=0) + 1
        self._guard = threading.Lock()

    @property
    def bytes(self) -> int:
        return sum(self._sizes.values())

    @property
    def count(self) -> int:
        return len(self._sizes)

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:020d}{SUFFIX}"

    def put(self, batches: dict[str, list[pa.RecordBatch]], token: str) -> int:
        """Write one flush durably; its sequence number. Overloaded past max_bytes."""
        data = encode(batches, token)
        with self._guard:
            used = sum(self._sizes.values())
            if used + len(data) > self.max_bytes:
                raise Overloaded(
                    f"the ClickHouse spool is full ({used:,} of {self.max_bytes:,} bytes in "
                    f"{self.directory}); waiting for ClickHouse to take it",
                    retry_after_s=5.0,
                )
            seq = self._next
            self._next += 1
        path = self._path(seq)
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            _fsync_dir(self.directory)
        except OSError as exc:  # disk full, read-only: nothing was acknowledged
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreUnavailable(f"cannot write the spool {self.directory}: {exc}") from exc
        with self._guard:
            self._sizes[seq] = len(data)
        return seq

    def oldest(self) -> int | None:
        with self._guard:
            return min(self._sizes, default=None)

    def read(self, seq: int) -> tuple[str, dict[str, list[pa.RecordBatch]]]:
        try:
            return decode(self._path(seq).read_bytes())
        except (OSError, pa.ArrowException, KeyError) as exc:
            raise SpoolCorrupt(f"{self._path(seq)}: {exc}") from exc

    def remove(self, seq: int) -> None:
        self._path(seq).unlink(missing_ok=True)
        # If the unlink did not reach the disk before a crash, the flush is sent again and the
        # store skips it by its token.
        _fsync_dir(self.directory)
        with self._guard:
            self._sizes.pop(seq, None)

    def set_aside(self, seq: int) -> Path:
        """Move an unreadable file to <dir>/corrupt/ so the flushes behind it can go."""
        bad = self.directory / "corrupt"
        private_dir(bad)
        target = bad / self._path(seq).name
        os.replace(self._path(seq), target)
        with self._guard:
            self._sizes.pop(seq, None)
        return target

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None


def encode(batches: dict[str, list[pa.RecordBatch]], token: str) -> bytes:
    sink = pa.BufferOutputStream()
    for table, parts in batches.items():
        parts = [p for p in parts if p.num_rows]
        if not parts:
            continue
        schema = parts[0].schema
        meta = {**(schema.metadata or {}), TABLE_KEY: table.encode(), TOKEN_KEY: token.encode()}
        with pa.ipc.new_stream(sink, schema.with_metadata(meta), options=_IPC) as writer:
            for part in parts:
                writer.write_batch(part)
    return sink.getvalue().to_pybytes()


def decode(data: bytes) -> tuple[str, dict[str, list[pa.RecordBatch]]]:
    reader = pa.BufferReader(data)
    token = ""
    out: dict[str, list[pa.RecordBatch]] = {}
    while reader.tell() < reader.size():
        stream = pa.ipc.open_stream(reader)
        meta = dict(stream.schema.metadata or {})
        table = meta.pop(TABLE_KEY).decode()
        token = meta.pop(TOKEN_KEY).decode()
        schema = stream.schema.with_metadata(meta) if meta else stream.schema.remove_metadata()
        out[table] = [pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in stream]
    return token, out


class SpoolingStore:
    """A store that acknowledges what its inner store cannot take yet, by spooling it.

    Wraps any Store (ClickHouse in `serve`; in tests the in-process engine, or a store that
    fails on purpose). `append` sends straight to the inner store while the spool is empty and
    the store answers; otherwise it spools. `spool_bytes` feeds the otelcap_spool_bytes gauge.
    """

    def __init__(
        self,
        inner: Store,
        directory: Path,
        max_bytes: int,
        retry_s: tuple[float, float] = (MIN_RETRY_S, MAX_RETRY_S),
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.dialect = inner.dialect
        self.spool = Spool(directory, max_bytes)
        self.sent_from_spool = 0  # flushes the replayer delivered (tests, bench)
        self._ready = False  # inner.create_schema succeeded
        self._schema_tried = False
        self._spooling = False  # for one warning per outage, not one per flush
        self._min_retry_s, self._max_retry_s = retry_s
        self._retry_at = 0.0
        self._delay = self._min_retry_s
        self._stopping = False
        self._cond = threading.Condition()
        if self.spool.count:
            log.info(
                "%d flushes (%s bytes) from an earlier run wait in %s; sending them first",
                self.spool.count,
                f"{self.spool.bytes:,}",
                self.spool.directory,
            )
        self._thread = threading.Thread(target=self._replay, name="otelcap-spool", daemon=True)
        self._thread.start()

    @property
    def spool_bytes(self) -> int:
        return self.spool.bytes

    @property
    def idle(self) -> bool:
        """Nothing spooled and the inner store has its tables (tests wait for this)."""
        return self._ready and not self.spool.count

    # --- Store -----------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create the inner store's tables; when it does not answer, warn and carry on: the
        replayer creates them when it answers (ConfigError, a wrong password say, still stops)."""
        try:
            self.inner.create_schema()
            self._ready = True
        except StoreUnavailable as exc:
            self._outage(exc)
        except BaseException:
            self.close()  # the caller will not: it never got a working store
            raise
        with self._cond:
            self._schema_tried = True
            self._cond.notify()

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        if not any(p.num_rows for parts in batches.values() for p in parts):
            return
        token = uuid.uuid4().hex
        if self._ready and not self.spool.count:
            try:
                self._send(batches, token)
                return
            except StoreUnavailable as exc:
                self._outage(exc)
        self.spool.put(batches, token)
        with self._cond:
            self._cond.notify()

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        return self.inner.query(sql, params)

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        # An insert in flight ends within the store's own timeout (20 s for ClickHouse).
        self._thread.join(30.0)
        if self.spool.count:
            log.warning(
                "%d flushes (%s bytes) stay in %s; they are sent when otelcap next starts",
                self.spool.count,
                f"{self.spool.bytes:,}",
                self.spool.directory,
            )
        self.spool.close()
        self.inner.close()

    # --- delivery --------------------------------------------------------------------------

    def _send(self, batches: dict[str, list[pa.RecordBatch]], token: str) -> None:
        if isinstance(self.inner, DedupTokens) and self.inner.deduplicates:
            self.inner.append(batches, token=token)
        else:
            self.inner.append(batches)

    def _outage(self, exc: BaseException) -> None:
        if not self._spooling:
            self._spooling = True
            log.warning(
                "%s. Spooling to %s until it answers (nothing is lost; up to %s bytes)",
                exc,
                self.spool.directory,
                f"{self.spool.max_bytes:,}",
            )
        with self._cond:
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self._max_retry_s)

    def _wait_for_work(self) -> bool:
        """Block until there is something to send and no back-off; False when stopping."""
        with self._cond:
            while not self._stopping:
                wait = self._retry_at - time.monotonic()
                if not self._schema_tried or (self._ready and not self.spool.count):
                    self._cond.wait()
                elif wait > 0:
                    self._cond.wait(wait)
                else:
                    return True
            return False

    def _replay(self) -> None:
        while self._wait_for_work():
            try:
                self._replay_one()
            except StoreUnavailable as exc:
                self._outage(exc)
                log.info(
                    "%s; %d flushes (%s bytes) spooled; next try in %.1f s",
                    exc,
                    self.spool.count,
                    f"{self.spool.bytes:,}",
                    max(0.0, self._retry_at - time.monotonic()),
                )
            except ConfigError as exc:  # the server answers but refuses us: keep trying
                self._outage(exc)
                log.error("the store refuses otelcap: %s", exc)
            except Exception:
                self._outage(StoreUnavailable("unexpected error while replaying the spool"))
                log.exception("replaying the spool failed")

    def _replay_one(self) -> None:
        if not self._ready:
            self.inner.create_schema()
            self._ready = True
        seq = self.spool.oldest()
        if seq is not None:
            try:
                token, batches = self.spool.read(seq)
            except SpoolCorrupt as exc:
                log.error("unreadable spool file moved to %s: %s", self.spool.set_aside(seq), exc)
                return
            self._send(batches, token)
            self.spool.remove(seq)
            self.sent_from_spool += 1
        with self._cond:
            self._delay = self._min_retry_s
        if not self.spool.count and self._spooling:
            self._spooling = False
            log.warning("the store answers again; the spool is empty")


def _lock(directory: Path) -> Any:
    """One otelcap per spool: two replaying the same files would race to delete them."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; one server per dir
        return None
    fd = os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    fh = os.fdopen(fd, "a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise ConfigError(
            f"another otelcap is using the spool in {directory} (is `otelcap serve` already "
            "running with this data directory?)"
        ) from None
    return fh


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
