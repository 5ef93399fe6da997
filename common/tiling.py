"""Tiles with a halo, for neighbourhood methods on rasters of any size.

A tile has a *core* (the pixels it is responsible for writing) and a *read*
window: the core grown by ``halo`` pixels on every side, clipped to the image.
Processing the read window and keeping the core gives the same result as
processing the whole image, for any method whose output at a pixel depends only
on inputs within ``halo`` pixels.
"""
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

Window = Tuple[int, int, int, int]  # (row, col, rows, cols)


@dataclass(frozen=True)
class Tile:
    """One tile: its core window, its read window, and the core's place in the read block."""

    core: Window
    read: Window

    @property
    def core_in_read(self) -> Tuple[slice, slice]:
        """Slices that cut the core out of an array of the read window."""
        r0 = self.core[0] - self.read[0]
        c0 = self.core[1] - self.read[1]
        return slice(r0, r0 + self.core[2]), slice(c0, c0 + self.core[3])


def iter_tiles(rows: int, cols: int, tile_size: int, halo: int = 0) -> Iterator[Tile]:
    """Tiles of at most ``tile_size`` x ``tile_size`` core pixels covering a rows x cols image."""
    if tile_size < 1 or halo < 0:
        raise ValueError("tile_size must be >= 1 and halo >= 0")
    for r in range(0, rows, tile_size):
        nr = min(tile_size, rows - r)
        for c in range(0, cols, tile_size):
            nc = min(tile_size, cols - c)
            r0, c0 = max(0, r - halo), max(0, c - halo)
            r1, c1 = min(rows, r + nr + halo), min(cols, c + nc + halo)
            yield Tile((r, c, nr, nc), (r0, c0, r1 - r0, c1 - c0))


def count_tiles(rows: int, cols: int, tile_size: int) -> int:
    """Number of tiles :func:`iter_tiles` yields."""
    return -(-rows // tile_size) * -(-cols // tile_size)


@dataclass(frozen=True)
class Part:
    """The ``index``-th of ``count`` horizontal strips of whole tile rows: one unit of a scene split
    over a cluster (``workflows.scene_parts``). A strip is empty when there are fewer tile rows than parts."""

    index: int
    count: int

    def window(self, rows: int, cols: int, tile_size: int) -> Window:
        """(row, 0, strip rows, cols) of this strip of a rows x cols image cut in tiles of ``tile_size``."""
        tile_rows = -(-rows // tile_size)
        top = min(rows, tile_rows * self.index // self.count * tile_size)
        bottom = min(rows, tile_rows * (self.index + 1) // self.count * tile_size)
        return top, 0, bottom - top, cols


def part_tiles(rows: int, cols: int, tile_size: int, halo: int,
               part: Optional[Part] = None) -> Tuple[Window, List[Tile]]:
    """The window of ``part`` (the whole image when None) and its tiles, as :func:`iter_tiles` cuts them."""
    window = (0, 0, rows, cols) if part is None else part.window(rows, cols, tile_size)
    tiles = [t for t in iter_tiles(rows, cols, tile_size, halo) if window[0] <= t.core[0] < window[0] + window[2]]
    return window, tiles
