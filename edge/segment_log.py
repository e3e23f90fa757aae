"""The outbox's storage: an append-only log of checksummed frames in segment files.

SQLite (the outbox of earlier releases) writes whole pages into its WAL and later into the
database, about 330 bytes per reading at 60 readings a second; an SD card wears with every byte.
Here a commit is one frame appended at the next sector boundary with O_DIRECT and O_DSYNC: only
the sectors that hold the frame are written (a second's 59 compressed readings take one or two
512-byte sectors), and the write has reached the card when it returns. Where O_DIRECT is refused (tmpfs
before Linux 6.6, some FUSE and network file systems) the same frame is written through the page
cache and fdatasync'ed, which costs whole pages.

A frame: a 36-byte header (magic, CRC-32 of the rest, payload length, the newest sequence
number, the acknowledged sequence number, how many readings, the sector size it was aligned to)
and a payload. A frame torn by power loss fails its CRC; reading a segment stops at the first
frame that does not check, so a torn frame is as if never written (it was never acknowledged to
anyone: the write did not return). Every frame carries the whole state (newest and acknowledged
sequence numbers; the payload holds the hand-off marks), so the newest valid frame is the state
and older segments are needed only for their readings: a segment whose readings are all
acknowledged is deleted, never rewritten. Segment files are preallocated so that a commit does
not grow the file.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import struct
import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from core.durable import fsync_path

MAGIC = b"EOL1"
HEADER = struct.Struct("<4sIIQQIB3x")  # magic, crc, payload length, last seq, acked, count, log2
SEGMENT_BYTES = 4 * 2**20
SECTORS = (512, 4096)  # tried in this order on the first write of a file opened with O_DIRECT
_SUFFIX = ".seg"


class LogCorrupt(Exception):
    """A frame that checked when the log was opened no longer does."""


@dataclass(frozen=True, slots=True)
class Head:
    last_seq: int
    acked: int
    count: int  # readings in this frame: last_seq - count + 1 .. last_seq


def frame(head: Head, payload: bytes, sector: int) -> bytes:
    """The bytes of one frame, zero-padded to a whole number of sectors."""
    fields = HEADER.pack(MAGIC, 0, len(payload), head.last_seq, head.acked, head.count,
                         sector.bit_length() - 1)
    crc = zlib.crc32(payload, zlib.crc32(fields[8:]))
    body = MAGIC + struct.pack("<I", crc) + fields[8:] + payload
    return body + bytes(-len(body) % sector)


def parse(buf: bytes | memoryview | mmap.mmap, offset: int) -> tuple[Head, bytes, int] | None:
    """The frame at `offset` (head, payload, offset of the next frame), or None where no valid
    frame starts there: zeros, a torn write, or the end of the buffer."""
    if offset + HEADER.size > len(buf):
        return None
    magic, crc, length, last_seq, acked, count, log2 = HEADER.unpack_from(buf, offset)
    end = offset + HEADER.size + length
    if magic != MAGIC or end > len(buf) or not 9 <= log2 <= 16 or count > last_seq:
        return None
    payload = bytes(buf[offset + HEADER.size:end])
    if zlib.crc32(payload, zlib.crc32(buf[offset + 8:offset + HEADER.size])) != crc:
        return None
    sector = 1 << log2
    return Head(last_seq, acked, count), payload, end + (-end % sector)


class Segment:
    """One segment file and the index of its frames that hold readings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets = array("Q")
        self.last_seqs = array("Q")
        self.end = 0  # where the next frame goes
        self.head: Head | None = None  # the newest valid frame's
        self.last_payload = b""  # and its payload (the marks)

    @property
    def number(self) -> int:
        return int(self.path.stem)

    def scan(self) -> int:
        """Index the valid frames; return how many of the bytes in the sectors after the last
        one are not zeros (a torn frame: expected only at the tail of the newest segment).
        Mapped, not read: only the pages holding frames come off the card, not the rest of a
        preallocated segment."""
        with self.path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return 0
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return self._scan(data)

    def _scan(self, data: mmap.mmap) -> int:
        offset, seen = 0, 0
        while (parsed := parse(data, offset)) is not None:
            head, _, after = parsed
            if head.count and self.last_seqs and head.last_seq - head.count < self.last_seqs[-1]:
                break  # frames only move forward: anything else is not this log's
            if head.count:
                self.offsets.append(offset)
                self.last_seqs.append(head.last_seq)
            self.head, self.last_payload, offset, seen = head, parsed[1], after, after
        self.end = seen
        tail = data[seen:seen + SECTORS[-1]]
        return len(tail) - tail.count(0)

    def frames_after(self, seq: int) -> range:
        """Indexes of the frames holding readings newer than `seq`."""
        return range(bisect_right(self.last_seqs, seq), len(self.offsets))

    def read(self, i: int) -> tuple[Head, bytes]:
        with self.path.open("rb") as f:
            f.seek(self.offsets[i])
            data = f.read(HEADER.size)
            if len(data) == HEADER.size:
                data += f.read(HEADER.unpack(data)[2])
        parsed = parse(data, 0)
        if parsed is None:
            raise LogCorrupt(f"{self.path} at byte {self.offsets[i]}: the frame no longer checks")
        return parsed[0], parsed[1]


class Writer:
    """Appends frames to a segment: O_DIRECT + O_DSYNC where the file system allows it."""

    def __init__(self, path: Path, preallocate: int, direct: bool = True) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_DSYNC
        try:
            direct = direct and hasattr(os, "O_DIRECT")
            self.fd = os.open(path, flags | (os.O_DIRECT if direct else 0), 0o600)
            self.direct = direct
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self.fd = os.open(path, flags, 0o600)
            self.direct = False
        self.sector = SECTORS[0]
        if preallocate and os.fstat(self.fd).st_size < preallocate:
            try:
                os.posix_fallocate(self.fd, 0, preallocate)
            except OSError:
                pass  # not every file system can; the log works without

    def write(self, head: Head, payload: bytes, offset: int) -> int:
        """Write one frame at `offset` (a sector boundary); return where the next one goes."""
        while True:
            data = frame(head, payload, self.sector)
            try:
                if self.direct:
                    buf = mmap.mmap(-1, len(data))  # page-aligned memory, as O_DIRECT needs
                    try:
                        buf.write(data)
                        written = os.pwrite(self.fd, buf, offset)
                    finally:
                        buf.close()
                else:
                    written = os.pwrite(self.fd, data, offset)
                    os.fdatasync(self.fd)
            except OSError as exc:
                if exc.errno != errno.EINVAL or not self.direct:
                    raise
                bigger = [s for s in SECTORS if s > self.sector and offset % s == 0]
                if bigger:
                    self.sector = bigger[0]
                else:  # no alignment works here: through the page cache, same frame format
                    self.direct = False
                    fcntl.fcntl(self.fd, fcntl.F_SETFL,
                                fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~os.O_DIRECT)
                continue
            if written != len(data):
                raise OSError(errno.EIO, f"short write to {self.path}: {written} of {len(data)}")
            return offset + written

    def close(self) -> None:
        os.close(self.fd)


def segment_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{_SUFFIX}"), key=lambda p: int(p.stem))


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:08d}{_SUFFIX}"


def fsync_dir(directory: Path) -> None:
    fsync_path(directory)
