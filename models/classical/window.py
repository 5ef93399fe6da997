"""Moving-window sums for the classical fusion kernels, vectorised over offsets.

Instead of visiting every pixel and then its window (the original codes'
per-pixel loops), the kernels visit every offset (dy, dx) of the window once
and process all centre pixels of a tile together: the neighbour at that
offset of every centre is a shifted view of the padded tile. Sums over the
window then become sums over offsets of whole-tile arrays.

The centres are taken as one flat run of the C-contiguous padded tile, from
the first core pixel to the last one, halo columns included (their values
are computed and dropped): every neighbour array is then a contiguous 1-D
slice, which numpy processes faster than 2-D views of rows with gaps.

Accumulation is two-level for accuracy and speed: float32 sums over the
offsets of one window row (or of the pair of rows dy and -dy), added into
float64 totals after each. Progress is reported and cancellation checked
after each window row (or pair of rows).
"""
from typing import Dict, Iterable, Optional, Tuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...common.progress import Progress


class Offsets:
    """Where the neighbour at offset (dy, dx) of each centre pixel lies in a padded tile.

    Padded blocks are (rows + 2 halo, cols + 2 halo) C-contiguous arrays whose
    core is the centre pixels. Arrays of centre values are flat runs of the
    padded tile (see the module docstring; ``core`` turns them into (rows,
    cols) arrays). With ``centres`` (flat indices into the core, shape (k,))
    only those centres are visited, through gathers.
    """

    def __init__(self, halo: int, rows: int, cols: int, centres: Optional[np.ndarray] = None):
        self.halo, self.rows, self.cols = halo, rows, cols
        self.padded_cols = cols + 2 * halo
        self.index = None
        if centres is not None:
            r, c = np.divmod(centres, cols)
            self.index = (r + halo) * self.padded_cols + (c + halo)

    @property
    def shape(self) -> Tuple[int, ...]:
        """Shape of the arrays of centre values: the flat run's (length,), or (k,) for chosen centres."""
        if self.index is None:
            return ((self.rows - 1) * self.padded_cols + self.cols,)
        return self.index.shape

    def at(self, padded: np.ndarray, dy: int, dx: int) -> np.ndarray:
        """Values of ``padded`` at offset (dy, dx) of every centre (a view when no centres were chosen)."""
        if self.index is None:
            return self.span(padded, dy, dx, self.shape[0])
        return padded.reshape(-1)[self.index + self.step(dy, dx)]

    def core(self, values: np.ndarray) -> np.ndarray:
        """Read-only (rows, cols) view of the core pixels of a flat run; chosen centres' values as they are."""
        if self.index is not None:
            return values
        step = values.strides[0]
        return as_strided(values, (self.rows, self.cols), (self.padded_cols * step, step), writeable=False)

    def grid(self, padded: np.ndarray, dy: int, dx: int) -> np.ndarray:
        """(rows, cols) view of ``padded`` at offset (dy, dx) of the core pixels."""
        h = self.halo
        return padded[h + dy:h + dy + self.rows, h + dx:h + dx + self.cols]

    def centre(self, padded: np.ndarray) -> np.ndarray:
        """Values of ``padded`` at the centres themselves."""
        return self.at(padded, 0, 0)

    def span(self, padded: np.ndarray, dy: int, dx: int, length: int) -> np.ndarray:
        """``length`` values of the flat padded tile from the neighbour at (dy, dx) of the first centre on."""
        start = (self.halo + dy) * self.padded_cols + self.halo + dx
        return padded.reshape(-1)[start:start + length]

    def step(self, dy: int, dx: int) -> int:
        """Distance in the flat padded tile from a pixel to its neighbour at (dy, dx)."""
        return dy * self.padded_cols + dx

    def pairs_of_offsets(self, progress: Progress) -> Iterable[Iterable[Tuple[int, int, float]]]:
        """Offsets d = (dy, dx) with step >= 0, each standing for the pair (d, -d), window row pair by row pair.

        Yields lists of (dy, dx, distance in pixels) for dy = 0 (dx = 0 ... h:
        (0, 0) stands alone) to h (dx = -h ... h), reporting progress and checking
        for cancellation after each.
        """
        h = self.halo
        for dy in range(h + 1):
            yield [(dy, dx, float(np.hypot(dy, dx))) for dx in range(-h if dy else 0, h + 1)]
            progress.step(dy + 1, h + 1)

    def rows_of_offsets(self, progress: Progress) -> Iterable[Iterable[Tuple[int, int, float]]]:
        """Offsets window row by window row, each as (dy, dx, distance in pixels).

        Reports progress and checks for cancellation after each window row.
        """
        h = self.halo
        for index, dy in enumerate(range(-h, h + 1)):
            yield [(dy, dx, float(np.hypot(dy, dx))) for dx in range(-h, h + 1)]
            progress.step(index + 1, 2 * h + 1)


class Sums:
    """Named window sums with two-level (float32 per window row, float64 total) accumulation."""

    def __init__(self, names: Iterable[str], shape: Tuple[int, ...]):
        self.row = {name: np.zeros(shape, np.float32) for name in names}
        self.total = {name: np.zeros(shape, np.float64) for name in self.row}

    def add(self, name: str, values: np.ndarray) -> None:
        """Add an array of the centres' shape to the current window row's sum."""
        self.row[name] += values

    def add_product(self, name: str, a: np.ndarray, b: np.ndarray, buffer: np.ndarray) -> None:
        """Add a * b, using ``buffer`` (float32, the centres' shape) as scratch."""
        np.multiply(a, b, out=buffer)
        self.row[name] += buffer

    def end_row(self) -> None:
        """Move the window row's sums into the totals."""
        for name, row in self.row.items():
            self.total[name] += row
            row.fill(0.0)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.total[name]

    def as_dict(self) -> Dict[str, np.ndarray]:
        """The float64 totals by name."""
        return dict(self.total)


def ceil_float32(values) -> np.ndarray:
    """Element-wise smallest float32 >= each (float64) value; works on scalars and arrays.

    For a float32 ``x``, ``x < t`` holds exactly when ``x < ceil_float32(t)``,
    so float32 comparisons in the fast kernels select the same pixels as the
    float64 comparisons of the per-pixel reference.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.atleast_1d(values.astype(np.float32))
    low = out.astype(np.float64) < np.atleast_1d(values)
    out[low] = np.nextafter(out[low], np.float32(np.inf))
    return out.reshape(values.shape)
