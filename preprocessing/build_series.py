"""From folders of downloaded MODIS and Landsat products to a gap-free, aligned series of pairs.

For every date found (see :mod:`.series`): the MODIS granule(s) become LST
with their QC mask (:mod:`.modis`; several tiles of one date are mosaicked;
Terra MOD11A1 is preferred to Aqua MYD11A1 when both exist, as its overpass
matches Landsat's), aligned onto the common fine grid (:mod:`.align`); the
Landsat scene becomes LST with its QA_PIXEL mask (:mod:`.landsat`) read onto
the same grid. The common grid is the first (earliest) Landsat scene's grid,
optionally cut to an extent or to polygons (:mod:`.clip`; outside the
polygons the outputs are no-data, which does not count as gaps). Each image
is refused when its share of no-data on the common grid is above the
maximum, otherwise its gaps are filled (:mod:`.gapfill`: spatially, or in
time from the other kept images of the same sensor once all dates are
done). The result:

    OUTPUT_FOLDER/fine/landsat_YYYY-MM-DD.tif
    OUTPUT_FOLDER/coarse/modis_YYYY-MM-DD.tif
    OUTPUT_FOLDER/pairs.csv      date,fine,coarse (coarse-only dates: empty fine)
    OUTPUT_FOLDER/summary.txt    what was kept, filled or refused, and why

A date whose MODIS image is refused (or missing) is left out of the table; a
date whose Landsat scene is refused stays as a coarse-only date.
"""
import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from .align import align_to_grid, check_overlap
from .clip import clip_grid, polygons_bounds, polygons_mask
from ..common.errors import InputError
from .gapfill import fill_gaps, gap_fraction
from ..common.grid import Grid, crs_name
from .landsat import DEFAULT_MASK, landsat_to_lst, open_landsat
from .modis import modis_to_lst
from ..common.progress import Progress, ensure
from ..common.raster_io import (UNITS_KEY, RasterWriter, band_description, grid_of, open_raster, read_band,
                                read_grid, read_units)
from ..common.pairs import PairRow, write_pairs
from .discovery import find_landsat, find_modis, group_by_date

FILL_METHODS = ("focal", "idw", "none", "temporal")
"""Gap filling of buildseries, in the order of the Processing enum. 'temporal' interpolates each
image's gaps between the nearest kept dates of the same sensor, then fills the rest by 'focal'."""

PAIRS_NAME = "pairs.csv"
_ROWS_PER_BLOCK = 256
SUMMARY_NAME = "summary.txt"


@dataclass
class SeriesOptions:
    """Settings of :func:`build_series`. Gap limits are fractions (0-1) of the common grid."""

    layer: str = "day"
    quality: str = "survey"
    mask: Sequence[str] = DEFAULT_MASK
    units: str = "kelvin"
    fill: str = "focal"
    resampling: str = "bilinear"
    max_gap_fine: float = 0.2
    max_gap_coarse: float = 0.1
    clip: Optional[Tuple[float, float, float, float, str]] = None
    """(xmin, ymin, xmax, ymax, CRS WKT) of the area to keep, or None for the whole first scene."""
    polygons: Optional[Tuple[Sequence[str], str]] = None
    """(polygons as WKT, their CRS WKT): cut to their bounding box, no-data outside them."""


@dataclass
class SeriesReport:
    """What :func:`build_series` did: the table, the summary and one line per file or date."""

    pairs_path: str
    summary_path: str
    grid: Grid
    pairs: int = 0
    coarse_only: int = 0
    refused: int = 0
    lines: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Target:
    """Where a date's images go: the common grid, its polygon mask (or None), the folders."""

    grid: Grid
    mask: Optional[np.ndarray]
    out_folder: str
    work: str


def build_series(modis_folder: str, landsat_folder: str, out_folder: str,
                 options: Optional[SeriesOptions] = None, progress: Optional[Progress] = None) -> SeriesReport:
    """Build the series folder; see the module docstring. Returns a :class:`SeriesReport`.

    Progress is reported per file and cancel is checked between files. A file
    that fails (bad product, no overlap...) is refused with its reason and the
    run goes on; InputError only when nothing usable is found.
    """
    options = options or SeriesOptions()
    progress = ensure(progress)
    if options.fill not in FILL_METHODS:
        raise InputError(f"Unknown gap filling '{options.fill}'; use one of {', '.join(FILL_METHODS)}.")
    landsat, landsat_archives = find_landsat(landsat_folder)
    modis, modis_archives = find_modis(modis_folder)
    if not landsat:
        raise InputError(f"No Landsat scene (*_ST_B10.TIF, a scene .tar or an LST GeoTIFF) found in "
                         f"{landsat_folder}.")
    if not modis:
        raise InputError(f"No MODIS granule (.hdf) or LST GeoTIFF found in {modis_folder}"
                         + (" (archives must be extracted first)." if modis_archives else "."))
    first = landsat[0][1]
    open_landsat(first)  # the grid's scene must be a usable Landsat band
    grid = read_grid(first)
    if options.clip:
        grid = clip_grid(grid, options.clip[:4], options.clip[4])
    mask = None
    if options.polygons:
        grid = clip_grid(grid, polygons_bounds(options.polygons[0]), options.polygons[1])
        mask = polygons_mask(grid, *options.polygons)
    os.makedirs(out_folder, exist_ok=True)
    work = os.path.join(out_folder, ".work")
    os.makedirs(work, exist_ok=True)
    report = SeriesReport(os.path.join(out_folder, PAIRS_NAME), os.path.join(out_folder, SUMMARY_NAME), grid)
    report.lines.append(f"Common grid: {grid.width} x {grid.height} pixels of {grid.pixel_size[0]:g} x "
                        f"{grid.pixel_size[1]:g} in {crs_name(grid.crs_wkt)}, from {os.path.basename(first)}"
                        + (" (clipped)" if options.clip or mask is not None else "")
                        + (f"; {mask.sum()} pixels inside the clip polygons" if mask is not None else ""))
    report.lines.extend(f"skipped archive {a}: no ST_B10 / ST_B6 band inside" for a in landsat_archives)
    report.lines.extend(f"skipped archive {a}: extract it first" for a in modis_archives)
    fine_by_date, coarse_by_date = group_by_date(landsat), group_by_date(modis)
    dates = sorted(set(fine_by_date) | set(coarse_by_date))
    rows: List[PairRow] = []
    target = _Target(grid, mask, out_folder, work)
    share = 80.0 if options.fill == "temporal" else 100.0
    try:
        for i, date in enumerate(dates):
            progress.check()
            step = progress.sub(share * i / len(dates), share * (i + 1) / len(dates))
            row = _one_date(date, fine_by_date.get(date, []), coarse_by_date.get(date, []),
                            target, options, report, step)
            progress.info(report.lines[-1])
            if row:
                rows.append(row)
        if options.fill == "temporal":
            _fill_in_time(rows, target, report, progress.sub(80, 100))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not rows:
        raise InputError("No usable date: " + "; ".join(report.lines[1:]))
    write_pairs(report.pairs_path, rows)
    report.pairs = sum(1 for r in rows if r.fine)
    report.coarse_only = sum(1 for r in rows if not r.fine)
    _write_summary(report, options)
    return report


def _one_date(date: dt.date, fine_files: List[str], coarse_files: List[str], target: _Target,
              options: SeriesOptions, report: SeriesReport, progress: Progress) -> Optional[PairRow]:
    """Ingest, check, fill and align one date; return its table row or None when refused."""
    if not coarse_files:
        report.refused += 1
        report.lines.append(f"{date}: refused Landsat {_names(fine_files)}: no MODIS image on this date")
        return None
    coarse, note = _coarse(date, coarse_files, target, options, progress.sub(0, 50))
    if coarse is None:
        report.refused += 1
        report.lines.append(f"{date}: refused (MODIS {note})" + (
            f"; Landsat {_names(fine_files)} unused" if fine_files else ""))
        return None
    if not fine_files:
        report.lines.append(f"{date}: coarse only; MODIS {note}")
        return PairRow(date, None, coarse)
    progress.check()
    fine, fine_note = _fine(date, fine_files, target, options, progress.sub(50, 100))
    if fine is None:
        report.refused += 1
        report.lines.append(f"{date}: coarse only (Landsat {fine_note}); MODIS {note}")
        return PairRow(date, None, coarse)
    report.lines.append(f"{date}: pair kept; Landsat {fine_note}; MODIS {note}")
    return PairRow(date, fine, coarse)


def _names(paths: Sequence[str]) -> str:
    return ", ".join(os.path.basename(p) for p in paths)


def _coarse(date: dt.date, files: List[str], target: _Target, options: SeriesOptions,
            progress: Progress) -> Tuple[Optional[str], str]:
    """(path of the aligned, filled MODIS LST or None, note saying what happened)."""
    terra = [f for f in files if not os.path.basename(f).upper().startswith("MYD")]
    chosen = terra or files
    aqua = sorted(set(files) - set(chosen))
    notes = [f"{_names(aqua)} (Aqua) not used: Terra preferred"] if aqua else []
    ingested = []
    for k, path in enumerate(chosen):
        # named after the granule, in a folder of its own, so that messages name the granule
        folder = os.path.join(target.work, f"{date}_{k}")
        out = os.path.join(folder, os.path.splitext(os.path.basename(path))[0] + ".tif")
        try:
            ingest = modis_to_lst(path, out, options.layer, None, options.quality, options.units,
                                  progress.sub(0, 30 * (k + 1) / len(chosen)))
            if ingest["qc_layer"] is None and options.quality != "none":
                notes.append(f"{os.path.basename(path)} has no QC layer: only fill is masked")
            check_overlap(read_grid(out), target.grid, os.path.basename(path))
        except InputError as err:
            notes.append(f"{os.path.basename(path)} not used: {err}")
            continue
        ingested.append(out)
    if not ingested:
        return None, "; ".join(notes) or "no usable file"
    source = ingested[0]
    if len(ingested) > 1:
        source = os.path.join(target.work, f"modis_{date}.vrt")
        mosaic = gdal.BuildVRT(source, ingested)
        mosaic.SetMetadataItem(UNITS_KEY, options.units)  # a VRT does not carry it over
        mosaic = None  # written on close
    aligned = os.path.join(target.work, f"modis_{date}_aligned.tif")
    try:
        align_to_grid(source, target.grid, aligned, options.resampling, 1, progress.sub(30, 60))
    except InputError as err:
        return None, f"{_names(chosen)}: " + str(err).replace(os.path.dirname(source) + os.sep, "")
    final = os.path.join(target.out_folder, "coarse", f"modis_{date}.tif")
    return _check_and_fill(aligned, final, options.max_gap_coarse, target, options, _names(chosen), notes,
                           progress.sub(60, 100))


def _fine(date: dt.date, files: List[str], target: _Target, options: SeriesOptions,
          progress: Progress) -> Tuple[Optional[str], str]:
    """(path of the filled Landsat LST on the grid or None, note saying what happened)."""
    path = files[0]
    notes = [f"{_names(files[1:])} not used: one scene per date"] if len(files) > 1 else []
    ingested = os.path.join(target.work, f"landsat_{date}.tif")
    try:
        landsat_to_lst(path, ingested, None, options.mask, options.units, None, target.grid,
                       progress.sub(0, 40))
    except InputError as err:
        return None, f"{os.path.basename(path)}: {err}"
    final = os.path.join(target.out_folder, "fine", f"landsat_{date}.tif")
    return _check_and_fill(ingested, final, options.max_gap_fine, target, options, os.path.basename(path),
                           notes, progress.sub(40, 100))


def _check_and_fill(path: str, final: str, max_gap: float, target: _Target, options: SeriesOptions,
                    name: str, notes: List[str], progress: Progress) -> Tuple[Optional[str], str]:
    """Refuse ``path`` above ``max_gap`` (no-data inside the mask), else fill it into ``final``
    (no-data outside the mask); (final or None, note)."""
    gaps = _gaps(path, target.mask)
    if gaps > max_gap:
        return None, "; ".join([f"{name}: {100 * gaps:.1f} % no-data on the grid, above the "
                                f"maximum {100 * max_gap:.1f} %"] + notes)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    filled = path
    if gaps > 0 and options.fill in ("focal", "idw"):
        filled = os.path.splitext(path)[0] + ".filled.tif"
        fill_gaps(path, filled, options.fill, progress=progress)
    if target.mask is None:
        os.replace(filled, final)
    else:
        _mask_outside(filled, final, target.mask)
    if gaps == 0:
        note = "no gap"
    elif options.fill == "none":
        note = f"{100 * gaps:.3g} % no-data left unfilled"
    elif options.fill == "temporal":
        note = f"{100 * gaps:.3g} % no-data, filled in time below"
    else:
        note = f"{100 * gaps:.3g} % filled ({options.fill})"
    return final, "; ".join([f"{name}: {note}"] + notes)


def _fill_in_time(rows: List[PairRow], target: _Target, report: SeriesReport, progress: Progress) -> None:
    """Fill the gaps of every kept image from the nearest earlier and later kept images of the same
    sensor (then the focal mean for what is left), all from the unfilled images."""
    jobs = []
    for kind in ("fine", "coarse"):
        series = [(row.date, getattr(row, kind)) for row in rows if getattr(row, kind)]
        jobs += [(kind, date, path, series) for date, path in series if _gaps(path, target.mask) > 0]
    filled = []
    for i, (kind, date, path, series) in enumerate(jobs):
        progress.check()
        out = os.path.join(target.work, f"{kind}_{date}.time.tif")
        method = "temporal" if len(series) > 1 else "focal"
        fill_gaps(path, out, method, series=series, date=date, progress=progress.sub(
            100.0 * i / len(jobs), 100.0 * (i + 1) / len(jobs)))
        filled.append((out, path))
        report.lines.append(f"{date}: {kind} gaps filled " + (
            "in time from the nearest dates, the rest by the focal mean" if method == "temporal"
            else "by the focal mean (no other date)"))
    for out, path in filled:  # replaced only now: neighbours were read unfilled
        if target.mask is None:
            os.replace(out, path)
        else:
            _mask_outside(out, path, target.mask)


def _gaps(path: str, mask: Optional[np.ndarray]) -> float:
    """Share (0-1) of no-data pixels, among those inside ``mask`` (rows, cols) when there is one."""
    if mask is None:
        return gap_fraction(path)
    ds = open_raster(path)
    gaps = 0
    for row in range(0, mask.shape[0], _ROWS_PER_BLOCK):
        inside = mask[row:row + _ROWS_PER_BLOCK]
        block = read_band(ds, 1, (row, 0, inside.shape[0], mask.shape[1]))
        gaps += int((inside & ~np.isfinite(block)).sum())
    return gaps / float(mask.sum())


def _mask_outside(path: str, final: str, mask: np.ndarray) -> None:
    """Copy ``path`` to ``final`` with no-data outside ``mask``, keeping units and metadata."""
    ds = open_raster(path)
    metadata = {k: v for k, v in (ds.GetMetadata() or {}).items() if k != "AREA_OR_POINT"}
    units = read_units(path)
    with RasterWriter(final, grid_of(ds), units=units, metadata=metadata,
                      descriptions=[band_description("LST", units)]) as writer:
        for row in range(0, mask.shape[0], _ROWS_PER_BLOCK):
            inside = mask[row:row + _ROWS_PER_BLOCK]
            block = read_band(ds, 1, (row, 0, inside.shape[0], mask.shape[1]))
            block[~inside] = np.nan
            writer.write(block, row, 0)


def _write_summary(report: SeriesReport, options: SeriesOptions) -> None:
    """Write summary.txt: settings, counts and one line per date."""
    header = [
        "LST series built by lstfusion:buildseries",
        f"units: {options.units}; MODIS {options.layer} layer, QC rule {options.quality}; "
        f"Landsat mask {', '.join(options.mask) or 'none'}; gap filling {options.fill}; "
        f"resampling {options.resampling}; maximum no-data {100 * options.max_gap_fine:.0f} % (Landsat), "
        f"{100 * options.max_gap_coarse:.0f} % (MODIS)",
        f"{report.pairs} pair(s), {report.coarse_only} coarse-only date(s), {report.refused} refused",
        "",
    ]
    with open(report.summary_path, "w", encoding="utf-8") as f:
        f.write("\n".join(header + report.lines) + "\n")
