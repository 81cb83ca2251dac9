"""Time-ordered identifiers (UUIDv7, RFC 9562) so that stores append in key order."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# Random bits are drawn from the OS 4 KiB at a time (one syscall per 512 ids, not one per id);
# a forked child starts with an empty pool so it never repeats its parent's bits.
_POOL_BYTES = 4096
_pool = b""
_pool_at = 0


def _forget_pool() -> None:
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _random64() -> int:
    """Next 64 random bits of the pool (the caller holds ``_lock``)."""
    global _pool, _pool_at
    if _pool_at + 8 > len(_pool):
        _pool, _pool_at = os.urandom(_POOL_BYTES), 0
    at = _pool_at
    _pool_at = at + 8
    return int.from_bytes(_pool[at : at + 8], "big")


def new_id() -> str:
    """Return a new UUIDv7 string; monotonic within a process even inside one millisecond."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # 12-bit sequence exhausted: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        seq = _counter
        rand = _random64() & 0x3FFFFFFFFFFFFFFF
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0x2 << 62) | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_timestamp_ms(identifier: str) -> int:
    """The Unix millisecond time encoded in a UUIDv7 string."""
    return int(identifier.replace("-", "")[:12], 16)


_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))  # first random byte: variant 0b10
_SEQ_HEX = tuple(f"7{i:03x}" for i in range(4096))  # version nibble + 12-bit sequence


def new_ids(n: int) -> list[str]:
    """``n`` new UUIDv7 strings in one go (one lock, one urandom call): a batch's ids, in
    order, monotonic with ``new_id``'s. The same layout as ``new_id``, built from hex slices
    (no 128-bit integer per id: the HTTP batch path makes a thousand per request)."""
    global _last_ms, _counter
    if n <= 0:
        return []
    now = time.time_ns() // 1_000_000
    with _lock:
        ms0, seq0 = (_last_ms, _counter) if now <= _last_ms else (now, -1)
        last = seq0 + n  # the k-th id is position seq0 + 1 + k: (ms0 + p // 4096, p % 4096)
        _last_ms, _counter = ms0 + (last >> 12), last & 0xFFF
    rand = bytearray(os.urandom(8 * n))
    rand[::8] = rand[::8].translate(_VARIANT)
    rh = rand.hex()
    out: list[str] = []
    p, k = seq0 + 1, 0
    while k < n:
        h = f"{ms0 + (p >> 12):012x}"
        head = f"{h[:8]}-{h[8:]}-"
        s0 = p & 0xFFF
        take = min(n - k, 4096 - s0)
        seqs = _SEQ_HEX[s0 : s0 + take]
        out += [
            f"{head}{seq}-{rh[o : o + 4]}-{rh[o + 4 : o + 16]}"
            for seq, o in zip(seqs, range(16 * k, 16 * (k + take), 16), strict=True)
        ]
        k += take
        p += take
    return out
