"""Vectorised stationary block bootstrap (Politis & Romano 1994): the resampling scheme of
arch's ``StationaryBootstrap``, drawn for thousands of resamples at once.

arch draws one resample per Python call. Here a resample is a run of blocks with geometric
lengths (mean ``block_size``) and uniform starts on the circle, arch's distribution exactly,
drawn in chunks of resamples as ``(rows, blocks)`` arrays. A :class:`BlockDraw` is fixed by its
seed, so the same resamples serve every metric of a data set: sums of a per-period statistics
matrix (one BLAS product with a matrix of observation counts per chunk) and ordered paths for
drawdowns. Chunks keep the working set in cache; ``tests/evaluation`` checks the distribution
against arch's own sampler.

Block size rule (:func:`optimal_block_size`): the Politis & White (2004) automatic block length
with the Patton, Politis & White (2009) correction (``arch.bootstrap.optimal_block_length``,
"stationary" column), the larger of the estimates for the returns and for the squared returns
(a Sharpe ratio depends on volatility clustering as much as on serial correlation of the mean),
rounded up and kept within ``[1, sqrt(n)]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from arch.bootstrap import optimal_block_length
from threadpoolctl import threadpool_limits

# Cells (resamples x observations) per chunk: ~1 MB of int64, so a chunk stays in cache.
_CHUNK_CELLS = 150_000


def single_threaded_blas() -> threadpool_limits:
    """Context manager: BLAS on one thread. Resampling multiplies many small matrices, where
    BLAS threads only contend (and the evaluator already runs packs in parallel threads).
    Process-wide while active, as threadpoolctl works."""
    return threadpool_limits(limits=1, user_api="blas")


def optimal_block_size(returns: np.ndarray) -> float:
    """Mean block length for the stationary bootstrap of ``returns`` (rule in the module doc)."""
    r = np.asarray(returns, dtype=float).ravel()
    n = r.shape[0]
    if n < 20 or float(np.std(r)) == 0.0:
        return 1.0
    table = optimal_block_length(np.column_stack([r, r * r]))
    b = float(np.nanmax(table["stationary"].to_numpy()))
    if not math.isfinite(b):
        b = 1.0
    return float(min(max(math.ceil(b), 1.0), max(math.floor(math.sqrt(n)), 1.0)))


@dataclass(frozen=True, slots=True)
class BlockDraw:
    """``resamples`` stationary-bootstrap resamples of a length-``n`` series, fixed by ``seed``.

    Iterating :meth:`chunks` always yields the same blocks, so sums, paths and paired
    statistics computed in separate passes see the same resamples.
    """

    n: int
    block_size: float
    resamples: int
    seed: int

    def __post_init__(self) -> None:
        if self.n < 1 or self.resamples < 1:
            raise ValueError(
                f"need n >= 1 and resamples >= 1, got n={self.n}, resamples={self.resamples}"
            )
        if not self.block_size >= 1:
            raise ValueError(f"block_size must be >= 1, got {self.block_size}")

    @property
    def chunk_rows(self) -> int:
        return max(1, _CHUNK_CELLS // self.n)

    def chunks(self, limit: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(first_row, starts, lengths)`` per chunk; lengths of a row sum to ``n``."""
        total = self.resamples if limit is None else min(limit, self.resamples)
        rows = self.chunk_rows
        for number, lo in enumerate(range(0, total, rows)):
            m = min(rows, total - lo)
            rng = np.random.default_rng([self.seed, number])
            starts, lengths = _draw_blocks(self.n, self.block_size, m, rng)
            yield lo, starts, lengths


def _draw_blocks(
    n: int, block_size: float, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if block_size == 1.0:  # iid bootstrap: every block has length 1
        return rng.integers(0, n, size=(m, n)), np.ones((m, n), dtype=np.int64)
    p = 1.0 / block_size
    log_q = math.log1p(-p)
    expected = n * p
    cols = min(n, int(expected + 6.0 * math.sqrt(expected) + 8))

    def geometric(shape: tuple[int, int]) -> np.ndarray:
        # Inverse transform of a geometric(p) on {1, 2, ...}; 1 - U avoids log(0).
        return (np.floor(np.log1p(-rng.random(shape)) / log_q) + 1.0).astype(np.int64)

    ends = np.cumsum(geometric((m, cols)), axis=1)
    while (short := np.flatnonzero(ends[:, -1] < n)).size:  # rare: a row needs more blocks
        extra = np.zeros((m, cols), dtype=np.int64)
        extra[short] = geometric((short.size, cols))
        ends = np.hstack([ends, ends[:, -1:] + np.cumsum(extra, axis=1)])
    np.minimum(ends, n, out=ends)
    lengths = np.diff(ends, axis=1, prepend=0)
    starts = np.asarray(rng.integers(0, n, size=lengths.shape), dtype=np.int64)
    return starts, lengths


def _counts(n: int, starts: np.ndarray, lengths: np.ndarray, block_size: float) -> np.ndarray:
    """counts[i, j] = how many times observation j appears in resample i of the chunk."""
    m = starts.shape[0]
    if block_size == 1.0:
        flat = (starts + (np.arange(m, dtype=np.int64) * n)[:, None]).ravel()
        return np.bincount(flat, minlength=m * n).reshape(m, n)
    # Difference array: +1 where a block starts, -1 after it ends; a block running past the end
    # wraps: [s, n) and [0, e - n). Zero-length padding blocks add +1 and -1 at one place.
    width = n + 1
    row_off = (np.arange(m, dtype=np.int64) * width)[:, None]
    ends = starts + lengths
    wrapped = ends > n
    up = np.bincount((starts + row_off).ravel(), minlength=m * width)
    down = np.bincount((np.minimum(ends, n) + row_off).ravel(), minlength=m * width)
    if wrapped.any():
        rows_w = row_off[:, 0][np.nonzero(wrapped)[0]]
        up += np.bincount(rows_w, minlength=m * width)
        down += np.bincount(rows_w + (ends[wrapped] - n), minlength=m * width)
    up -= down
    cover = np.cumsum(up.reshape(m, width), axis=1, dtype=np.int32)
    return cover[:, :n]


def resample_sums(stats: np.ndarray, draw: BlockDraw) -> np.ndarray:
    """Column sums of ``stats`` (n x k) over every resample of ``draw``: shape (resamples, k)."""
    x = np.asarray(stats, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] != draw.n:
        raise ValueError(f"stats has {x.shape[0]} rows but the draw was made for n={draw.n}")
    out = np.empty((draw.resamples, x.shape[1]))
    for lo, starts, lengths in draw.chunks():
        counts = _counts(draw.n, starts, lengths, draw.block_size)
        out[lo : lo + counts.shape[0]] = counts.astype(np.float64) @ x
    return out


def chunk_indices(n: int, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Explicit observation indices (rows x n) of a chunk of resamples, in resampled order."""
    m = starts.shape[0]
    offsets = np.cumsum(lengths, axis=1) - lengths  # where each block begins in its row
    # idx = cumsum(steps): +1 inside a block, a jump to the block's start at its first position.
    prev_end = np.zeros_like(starts)
    prev_end[:, 1:] = starts[:, :-1] + lengths[:, :-1] - 1
    used = lengths > 0
    steps = np.ones((m, n), dtype=np.int64)
    rows = np.broadcast_to(np.arange(m)[:, None], starts.shape)
    steps[rows[used], offsets[used]] = (starts - prev_end)[used]
    idx = np.cumsum(steps, axis=1)
    idx %= n
    return idx


def resample_indices(draw: BlockDraw, limit: int | None = None) -> np.ndarray:
    """Explicit indices of the first ``limit`` resamples of ``draw``: shape (limit, n)."""
    parts = [chunk_indices(draw.n, s, ln) for _, s, ln in draw.chunks(limit)]
    return np.vstack(parts)
