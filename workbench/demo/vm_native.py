"""VictoriaMetrics' native import format, written with numpy (no Python object per sample).

``/api/v1/import/native`` reads what ``/api/v1/export/native`` writes: a time range (two
big-endian int64 milliseconds), then per block a metric name and a block, each preceded by its
big-endian uint32 length. A metric name is ``name\\x01key\\x01value\\x01...``; a block is
varints (zig-zag for signed) of its first timestamp, first value, row count and decimal scale,
two bytes naming the timestamps' and values' encodings, then both encoded arrays
(uvarint length + bytes). Values are decimals ``mantissa * 10**scale``, the way
VictoriaMetrics stores every sample, so a value written with ``scale`` digits after the point
reads back as exactly the float ``mantissa / 10**-scale``.

Only three of VictoriaMetrics' encodings are used, none compressed (VictoriaMetrics compresses
when it stores): constant values (no data), constant deltas (one varint) and plain deltas
(one varint per row after the first). VictoriaMetrics skips the JSON parse of ``/api/v1/import``:
about a quarter less of its CPU per sample (see ``python -m benchmarks vm_demo``).

Examples
--------
>>> import numpy as np
>>> uvarints(np.array([0, 1, 127, 128, 300], dtype=np.uint64)).tobytes().hex()
'00017f8001ac02'
>>> zigzag(np.array([0, -1, 1, -2], dtype=np.int64)).tolist()
[0, 1, 2, 3]
>>> w = NativeWriter()
>>> w.add(b"up\\x01job\\x01a\\x01", np.array([0, 60_000, 120_000]), np.array([1, 1, 1]), 0)
>>> w.samples
3
>>> body = w.body()
>>> body[:16].hex(), len(body)  # the time range (all of it), then one block
('00000000000000004000000000000000', 44)
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["ROWS_PER_BLOCK", "NativeWriter", "metric_name", "uvarints", "zigzag"]

#: VictoriaMetrics' block size (rows); longer series are cut into several blocks.
ROWS_PER_BLOCK = 8192

_CONST = 3
_DELTA_CONST = 2
_NEAREST_DELTA = 6
_RANGE = struct.pack(">qq", 0, 1 << 62)  # every millisecond stamp after 1970
_U32 = struct.Struct(">I")


def zigzag(a: np.ndarray) -> np.ndarray:
    """Signed int64 -> uint64 the way protobuf and VictoriaMetrics do it."""
    a = np.asarray(a, dtype=np.int64)
    return ((a << 1) ^ (a >> 63)).view(np.uint64)


def _lengths(u: np.ndarray) -> np.ndarray:
    n = np.ones(len(u), dtype=np.int64)
    for k in range(1, 10):
        n += u >= np.uint64(1 << (7 * k))
    return n


def uvarints(u: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """LEB128 unsigned varints of every element of ``u``, concatenated (uint8 array)."""
    u = np.asarray(u, dtype=np.uint64)
    n = _lengths(u) if lengths is None else lengths
    out = np.empty(int(n.sum()), dtype=np.uint8)
    pos = np.cumsum(n) - n
    for k in range(int(n.max(initial=0))):
        sel = n > k
        byte = (u[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (n[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[pos[sel] + k] = (byte | more).astype(np.uint8)
    return out


def _uvarint(x: int) -> bytes:
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _varint(x: int) -> bytes:
    return _uvarint((x << 1) ^ (x >> 63) if x < 0 else x << 1)


def metric_name(labels: dict[str, str]) -> bytes:
    """VictoriaMetrics' marshalled metric name of a label set (``__name__`` first).

    >>> metric_name({"__name__": "up", "job": "a"})
    b'up\\x01job\\x01a\\x01'
    """
    name = labels.get("__name__", "")
    parts = [name, *(x for k, v in labels.items() if k != "__name__" for x in (k, v))]
    raw = "\x01".join(parts).encode() + b"\x01"
    if b"\x00" in raw or b"\x02" in raw or any("\x01" in p for p in parts):
        msg = f"a label of {name} holds a control byte (\\x00-\\x02); not in the native format"
        raise ValueError(msg)
    return raw


class NativeWriter:
    """Collects series (timestamps, mantissas, scale) and writes one native import body.

    The deltas of every series are varint-encoded in one numpy pass per body.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._heads: list[tuple[bytes, bytes, int]] = []  # name, header, mode
        self._ts: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self.samples = 0

    def __len__(self) -> int:
        return len(self._heads)

    def add(self, name: bytes, ts_ms: np.ndarray, mantissas: np.ndarray, scale: int) -> None:
        """One series: sorted int64 millisecond ``ts_ms`` and int64 ``mantissas`` (the values are
        ``mantissas * 10**scale``), cut into blocks of at most :data:`ROWS_PER_BLOCK` rows."""
        ts_ms = np.asarray(ts_ms, dtype=np.int64)
        mantissas = np.asarray(mantissas, dtype=np.int64)
        for a in range(0, len(ts_ms), ROWS_PER_BLOCK):
            self._block(name, ts_ms[a:a + ROWS_PER_BLOCK], mantissas[a:a + ROWS_PER_BLOCK], scale)

    def _block(self, name: bytes, ts: np.ndarray, m: np.ndarray, scale: int) -> None:
        n = len(ts)
        if n == 0:
            return
        dts = np.diff(ts)
        dm = np.diff(m)
        if n > 1 and (dts == dts[0]).all():
            t_type, t_data = _DELTA_CONST, _varint(int(dts[0]))
        elif n == 1:
            t_type, t_data = _DELTA_CONST, _varint(0)
        else:
            t_type, t_data = _NEAREST_DELTA, None
            self._ts.append(dts)
        if n == 1 or not dm.any():
            v_type = _CONST
        else:
            v_type = _NEAREST_DELTA
            self._vals.append(dm)
        head = b"".join((_varint(int(ts[0])), _varint(int(m[0])), _uvarint(n), _varint(scale),
                         bytes((t_type, v_type))))
        if t_data is not None:
            head += _uvarint(len(t_data)) + t_data
        mode = (1 if t_data is None else 0) | (2 if v_type == _NEAREST_DELTA else 0)
        self._heads.append((name, head, mode))
        self.samples += n

    def body(self) -> bytes:
        """The request body (and the writer starts empty again)."""
        t_bytes, t_off = _encoded(self._ts)
        v_bytes, v_off = _encoded(self._vals)
        out = [_RANGE]
        ti = vi = 0
        for name, head, mode in self._heads:
            parts = [head]
            if mode & 1:
                a, b = t_off[ti], t_off[ti + 1]
                ti += 1
                parts += (_uvarint(b - a), t_bytes[a:b])
            if mode & 2:
                a, b = v_off[vi], v_off[vi + 1]
                vi += 1
                parts += (_uvarint(b - a), v_bytes[a:b])
            else:
                parts.append(b"\x00")
            blk = b"".join(parts)
            out += (_U32.pack(len(name)), name, _U32.pack(len(blk)), blk)
        self._reset()
        return b"".join(out)


def _encoded(arrays: list[np.ndarray]) -> tuple[bytes, list[int]]:
    """Varints of the zig-zagged concatenation of ``arrays`` (none empty) and the byte offset
    where each array's varints start (plus the end)."""
    if not arrays:
        return b"", [0]
    u = zigzag(np.concatenate(arrays))
    n = _lengths(u)
    ends = np.cumsum(n)
    last = np.cumsum(np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))) - 1
    return uvarints(u, n).tobytes(), [0, *ends[last].tolist()]
