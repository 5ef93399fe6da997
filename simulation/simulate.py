"""A realistic synthetic coarse/fine LST series with ground truth on every date.

:func:`simulate_series` draws a landscape (parcels, forest, a town with roads
and an urban heat island, a river and lakes) in the UTM zone of the scene
centre, drives a daily 30 m "true" LST with a seasonal cycle, weather, class
responses and events (:mod:`surface`, :mod:`forcing`), and observes it

* with a coarse sensor (MODIS-like: 926.6 m sinusoidal grid) on every date:
  truth aggregated by a Gaussian point-spread function (:mod:`sensor`),
  plus a date-dependent bias and white noise (the 'real' variability adds a
  date- and land-cover-dependent MODIS-Landsat discrepancy and a correlated
  retrieval error: :mod:`discrepancy`), cloudy pixels no-data; each
  coarse image is also written bilinearly resampled onto the fine grid (what
  ``lstfusion:aligntofine`` makes of it), ready for fusion and training;
* with a fine sensor (Landsat-like: the truth's 30 m grid) every ``revisit``
  days: truth plus white noise, cloudy pixels no-data.

The folder it writes (``F`` below) is a series folder like the one
``lstfusion:buildseries`` makes (coarse images aligned on the fine grid), plus
the native coarse images and the truth:

    F/pairs.csv          date,fine,coarse   (coarse on the fine grid; relative paths; fine
                                             empty on coarse-only dates)
    F/pairs_native.csv   date,fine,coarse   (coarse on its own MODIS grid)
    F/truth.csv          date,truth,air_temperature,heat_wave,coarse_bias,cloud_cover,
                         coarse_valid,fine_valid
    F/coarse/DATE.tif    coarse LST, every date        (MODIS sinusoidal, ~926.6 m)
    F/coarse_on_fine/DATE.tif  the same, bilinear on the fine grid (UTM, 30 m)
    F/fine/DATE.tif      fine LST, every revisit date  (UTM, 30 m)
    F/truth/DATE.tif     true LST, every date          (UTM, 30 m, no gaps)
    F/landcover.tif      class codes (Byte, colour table, class names)
    F/simulation.json    settings, grids, classes, events, sensor model

Same seed and settings give the same files, bit for bit. The landscape depends
only on the seed, the size and the centre (the variability decides which
rainfed parcels get harvested and, for 'real', how much the classes contrast),
and the weather, clouds and sensor noise only on the seed and the dates, so
runs of one seed at every variability show the same scene under the same sky,
with stronger or weaker changes. What 'real' adds (parcel states, coarse
discrepancy) draws on random streams of its own, so the other settings give the
same files as before it existed.
"""
import csv
import datetime as dt
import json
import os
import shutil
from dataclasses import asdict, dataclass, replace
from typing import Dict, List, Optional

import numpy as np
from osgeo import gdal
from scipy.ndimage import zoom

from ..common.errors import InputError
from ..common.grid import Grid, crs_name
from ..common.progress import Progress, ensure
from ..common.units import KELVIN_AT_0C, UNITS
from ..common.raster_io import GTIFF_OPTIONS, RasterWriter, band_description, read_grid, remove_quietly
from .discrepancy import make_discrepancy
from .forcing import MAX_CLOUD_COVER, PARCEL_MEMORY, VARIABILITY, ar1, make_forcing
from .landscape import CLASSES, make_landcover, smooth_field
from .sensor import (BLOCK, MODIS_PIXEL, PSF_TRUNCATION, BilinearToFine, PointSpreadFunction,
                         SceneGrids)
from .surface import Surface

FINE_PIXEL = 30.0
"""Fine (and truth) pixel size (m)."""

CLOUDY_FOOTPRINT = 0.25
"""A coarse pixel is no-data when clouds cover more than this PSF-weighted share of its footprint."""

CLOUD_SCALE = 1200.0
"""Correlation length of the cloud fields (m)."""

MOISTURE_MODES = 3

# independent random streams: the landscape does not change with days or variability
_LANDSCAPE, _FORCING, _CLOUDS, _SENSOR, _DISCREPANCY, _PARCELS = range(1, 7)

_OUTPUT_FILES = ("pairs.csv", "pairs_native.csv", "truth.csv", "landcover.tif", "simulation.json")
_OUTPUT_DIRS = ("fine", "coarse", "coarse_on_fine", "truth")


@dataclass(frozen=True)
class SimulationSettings:
    """What to simulate.

    ``rows`` x ``cols`` fine pixels of 30 m; ``days`` daily dates from
    ``start`` (ISO date); ``variability``: 'low', 'medium', 'high' or
'real' (see :data:`forcing.VARIABILITY` for which resembles what);
    ``cloud_fraction``: mean cloud cover of a date (0-0.7; 0 = clear sky);
    ``units``: 'kelvin' or 'celsius' for every written LST; ``revisit``:
    days between fine images (the first is on the start date);
    ``write_truth``: write truth/DATE.tif for every date; ``fine_noise``,
    ``coarse_noise``: sensor noise std (K); ``coarse_bias``,
    ``coarse_bias_std``: mean and day-to-day std of the coarse bias (K);
    ``psf_sigma``: std of the coarse Gaussian PSF (m); ``centre_lat``,
    ``centre_lon``: scene centre (degrees; default near Orléans, France).
    """

    rows: int = 950
    cols: int = 950
    days: int = 60
    start: str = "2023-06-01"
    seed: int = 42
    variability: str = "medium"
    cloud_fraction: float = 0.1
    units: str = "kelvin"
    revisit: int = 16
    write_truth: bool = True
    fine_noise: float = 0.3
    coarse_noise: float = 0.5
    coarse_bias: float = -0.8
    coarse_bias_std: float = 0.6
    psf_sigma: float = 0.5 * MODIS_PIXEL
    centre_lat: float = 47.9
    centre_lon: float = 1.9

    def start_date(self) -> dt.date:
        """``start`` as a date; InputError when it is not an ISO date."""
        try:
            return dt.date.fromisoformat(str(self.start)[:10])
        except ValueError as err:
            raise InputError(f"Start date '{self.start}' is not a date like 2023-06-01.") from err

    def validate(self) -> None:
        """InputError naming the first setting out of range."""
        whole = ("rows", "cols", "days", "revisit", "seed")
        for name in whole:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InputError(f"Simulation setting {name} must be a whole number, not {value!r}.")
        checks = (
            (self.seed >= 0, f"the seed must be 0 or more, not {self.seed}"),
            (64 <= self.rows <= 4000, f"rows must be 64-4000 pixels, not {self.rows}"),
            (64 <= self.cols <= 4000, f"cols must be 64-4000 pixels, not {self.cols}"),
            (1 <= self.days <= 1096, f"the number of days must be 1-1096, not {self.days}"),
            (self.revisit >= 1, f"the fine revisit must be at least 1 day, not {self.revisit}"),
            (self.variability in VARIABILITY,
             f"variability must be one of {', '.join(VARIABILITY)}, not '{self.variability}'"),
            (0.0 <= self.cloud_fraction <= MAX_CLOUD_COVER,
             f"cloud fraction must be 0-{MAX_CLOUD_COVER}, not {self.cloud_fraction}"),
            (self.units in UNITS, f"units must be kelvin or celsius, not '{self.units}'"),
            (min(self.fine_noise, self.coarse_noise, self.coarse_bias_std) >= 0,
             "noise and bias spreads cannot be negative"),
            (50.0 <= self.psf_sigma <= 3000.0, f"the PSF sigma must be 50-3000 m, not {self.psf_sigma}"),
            (-80.0 <= self.centre_lat <= 84.0 and -180.0 <= self.centre_lon <= 180.0,
             "the scene centre must lie within UTM's latitudes (80 S - 84 N)"),
        )
        for ok, message in checks:
            if not ok:
                raise InputError(f"Simulation setting out of range: {message}.")
        self.start_date()


@dataclass
class SimulationResult:
    """A simulation folder: where everything is. Paths are absolute; dicts are keyed by ISO date.

    ``coarse`` (native MODIS grid) and ``coarse_on_fine`` (bilinear on the
    fine grid) have every date, ``fine`` the revisit dates, ``truth`` every
    date (empty when the truth was not written). ``pairs`` lists the coarse
    images on the fine grid, ``pairs_native`` the native ones. ``daily`` holds, per date, the
    truth table's numbers: ``air_temperature`` (the simulation's units),
    ``heat_wave`` and ``coarse_bias`` (K; the part common to the whole scene, without the
    real-like setting's land-cover part), ``cloud_cover``, ``coarse_valid``
    and ``fine_valid`` (shares 0-1; ``fine_valid`` is None without a fine image).
    ``settings`` is simulation.json's copy of :class:`SimulationSettings`.
    """

    folder: str
    pairs: str
    pairs_native: str
    truth_table: str
    landcover: str
    metadata: str
    dates: List[str]
    coarse: Dict[str, str]
    coarse_on_fine: Dict[str, str]
    fine: Dict[str, str]
    truth: Dict[str, str]
    daily: Dict[str, dict]
    settings: SimulationSettings
    fine_grid: Grid
    coarse_grid: Grid

    def clearest_dates(self, count: int, fine: Optional[bool] = None) -> List[str]:
        """Up to ``count`` dates with the least cloud, in date order; ``fine``
        True/False keeps only dates with/without a fine image."""
        candidates = [d for d in self.dates if fine is None or (d in self.fine) == fine]
        chosen = sorted(candidates, key=lambda d: (self.daily[d]["cloud_cover"], d))[:count]
        return sorted(chosen)


def load_simulation(folder: str) -> SimulationResult:
    """The :class:`SimulationResult` of a folder written by :func:`simulate_series`.

    InputError naming the folder when it holds no complete simulation.
    """
    paths = {name: _path(folder, name) for name in _OUTPUT_FILES}
    missing = [name for name, path in paths.items() if not os.path.exists(path)]
    if missing:
        raise InputError(f"{folder} holds no complete simulation: {', '.join(missing)} missing.")
    with open(paths["simulation.json"], encoding="utf-8") as handle:
        settings = SimulationSettings(**json.load(handle)["settings"])
    pairs = _read_csv(paths["pairs.csv"])
    native = _read_csv(paths["pairs_native.csv"])
    daily_rows = _read_csv(paths["truth.csv"])

    def absolute(relative: str) -> str:
        return _path(folder, relative)

    dates = [row["date"] for row in pairs]
    numbers = ("air_temperature", "heat_wave", "coarse_bias", "cloud_cover", "coarse_valid", "fine_valid")
    daily = {row["date"]: {key: float(row[key]) if row[key] else None for key in numbers}
             for row in daily_rows}
    return SimulationResult(
        folder=os.path.abspath(folder), pairs=paths["pairs.csv"],
        pairs_native=paths["pairs_native.csv"], truth_table=paths["truth.csv"],
        landcover=paths["landcover.tif"], metadata=paths["simulation.json"], dates=dates,
        coarse={row["date"]: absolute(row["coarse"]) for row in native},
        coarse_on_fine={row["date"]: absolute(row["coarse"]) for row in pairs},
        fine={row["date"]: absolute(row["fine"]) for row in pairs if row["fine"]},
        truth={row["date"]: absolute(row["truth"]) for row in daily_rows if row["truth"]},
        daily=daily, settings=settings, fine_grid=read_grid(paths["landcover.tif"]),
        coarse_grid=read_grid(absolute(native[0]["coarse"])))


def simulate_series(folder: str, settings: Optional[SimulationSettings] = None,
                    progress: Optional[Progress] = None, **changes) -> SimulationResult:
    """Simulate a series into ``folder``; keyword ``changes`` override ``settings`` fields.

    Example: ``simulate_series('sim', rows=300, cols=300, days=40, variability='high')``.
    ``folder`` must be new, empty, or hold an earlier simulation (which is
    replaced). On error or cancel, the files written so far are removed.
    Memory: about 0.25 GB per million fine pixels (scene plus margin).
    """
    progress = ensure(progress)
    settings = replace(settings or SimulationSettings(), **changes)
    settings.validate()
    start = settings.start_date()
    variability = VARIABILITY[settings.variability]
    _prepare_folder(folder)

    grids = SceneGrids(settings.rows, settings.cols, FINE_PIXEL, settings.centre_lat,
                       settings.centre_lon, settings.psf_sigma)
    progress.info(f"Scene: {settings.rows} x {settings.cols} fine pixels of 30 m "
                  f"({crs_name(grids.fine.crs_wkt)}), {grids.coarse.height} x {grids.coarse.width} "
                  f"coarse pixels of {MODIS_PIXEL:.1f} m (MODIS sinusoidal), {settings.days} dates, "
                  f"variability {settings.variability}.")
    land = make_landcover(np.random.default_rng([settings.seed, _LANDSCAPE]), grids.world.shape,
                          FINE_PIXEL, MOISTURE_MODES)
    forcing = make_forcing(np.random.default_rng([settings.seed, _FORCING]), start, settings.days,
                           settings.centre_lat, variability, settings.cloud_fraction,
                           settings.coarse_bias, settings.coarse_bias_std, MOISTURE_MODES)
    surface = Surface(land, variability, settings.days, _parcel_states(settings, variability, land))
    del land
    discrepancy = make_discrepancy(np.random.default_rng([settings.seed, _DISCREPANCY]), settings.days,
                                   forcing.sun, variability.class_bias, variability.date_bias_std,
                                   variability.coarse_error_std)
    psf = PointSpreadFunction(grids, settings.psf_sigma)
    to_fine = BilinearToFine(grids)
    progress.report(5)
    progress.check()

    written: List[str] = []
    try:
        _write_series(folder, settings, start, grids, surface, (forcing, discrepancy), (psf, to_fine),
                      written, progress.sub(5, 99))
    except BaseException:
        for path in written:
            remove_quietly(path)
        for name in _OUTPUT_DIRS:  # empty sub-folders would block a rerun into this folder
            _remove_empty_folder(_path(folder, name))
        raise
    progress.report(100)
    return load_simulation(folder)


def _parcel_states(settings, variability, land):
    """(days, parcels) float32 AR(1) states of the parcels (K at full sun), or None when the preset has none."""
    if variability.parcel_std <= 0:
        return None
    rng = np.random.default_rng([settings.seed, _PARCELS])
    return ar1(rng, settings.days, np.exp(-1.0 / PARCEL_MEMORY), variability.parcel_std,
               (land.field_class.size,)).astype(np.float32)


def _coarse_image(day, world, surface, discrepancy, psf, settings, bias):
    """(the coarse sensor's image of a date before clouds (K, coarse grid, float64), the date's sensor generator)."""
    sensor = np.random.default_rng([settings.seed, _SENSOR, day])
    coarse = psf.apply(world) + bias + sensor.normal(0.0, settings.coarse_noise, psf.shape)
    if discrepancy.active:
        by_class = discrepancy.by_class[day].astype(np.float32)[surface.classes]
        coarse += (psf.apply(by_class) + discrepancy.date_bias[day]
                   + discrepancy.error(np.random.default_rng([settings.seed, _DISCREPANCY, day]), psf.shape))
    return coarse, sensor


def _write_series(folder, settings, start, grids, surface, series, sensor_maps, written, progress):
    """The per-date loop and the tables; appends every path it writes to ``written``."""
    psf, to_fine = sensor_maps
    forcing, discrepancy = series
    shift = -KELVIN_AT_0C if settings.units == "celsius" else 0.0
    dates = [(start + dt.timedelta(days=i)).isoformat() for i in range(settings.days)]
    pairs, rows = [], []
    for i, date in enumerate(dates):
        world = surface.temperature(i, forcing)
        clouds = _cloud_field(settings.seed, i, forcing.cloud[i], psf.blocks)
        coarse, sensor = _coarse_image(i, world, surface, discrepancy, psf, settings, forcing.bias[i])
        if clouds is not None:
            threshold, field_blocks = clouds
            cover = psf.apply_blocks((field_blocks > threshold).astype(np.float64))
            coarse[cover > CLOUDY_FOOTPRINT] = np.nan
        pair = {"date": date, "fine": "", "coarse": f"coarse_on_fine/{date}.tif"}
        _write(written, folder, f"coarse/{date}.tif", coarse + shift, grids.coarse, settings.units, date)
        _write(written, folder, pair["coarse"], to_fine.apply(coarse + shift), grids.fine,
               settings.units, date)
        truth = grids.fine_window(world)
        if settings.write_truth:
            _write(written, folder, f"truth/{date}.tif", truth + np.float32(shift), grids.fine,
                   settings.units, date)
        fine_valid = ""
        if i % settings.revisit == 0:
            fine = truth + sensor.normal(0.0, settings.fine_noise, truth.shape).astype(np.float32)
            if clouds is not None:
                threshold, field_blocks = clouds
                fine[grids.fine_window(zoom(field_blocks, BLOCK, order=1)) > threshold] = np.nan
            pair["fine"] = f"fine/{date}.tif"
            _write(written, folder, pair["fine"], fine + np.float32(shift), grids.fine, settings.units, date)
            fine_valid = f"{np.isfinite(fine).mean():.4f}"
        pairs.append(pair)
        rows.append({"date": date, "truth": f"truth/{date}.tif" if settings.write_truth else "",
                     "air_temperature": f"{forcing.air[i] + shift:.3f}",
                     "heat_wave": f"{forcing.heat_wave[i]:.3f}",
                     "coarse_bias": f"{forcing.bias[i] + discrepancy.date_bias[i]:.3f}",
                     "cloud_cover": f"{forcing.cloud[i]:.4f}",
                     "coarse_valid": f"{np.isfinite(coarse).mean():.4f}", "fine_valid": fine_valid})
        progress.step(i + 1, len(dates) + 1)

    landcover = _path(folder, "landcover.tif")
    written.extend([landcover, landcover + ".aux.xml"])
    _write_landcover(landcover, surface.classes, grids)
    written.append(_write_csv(_path(folder, "pairs.csv"), ["date", "fine", "coarse"], pairs))
    native = [dict(p, coarse=f"coarse/{p['date']}.tif") for p in pairs]
    written.append(_write_csv(_path(folder, "pairs_native.csv"), ["date", "fine", "coarse"], native))
    written.append(_write_csv(_path(folder, "truth.csv"), list(rows[0]), rows))
    written.append(_write_metadata(_path(folder, "simulation.json"), settings, grids, surface,
                                   series, dates))


def _path(folder: str, *parts: str) -> str:
    return os.path.abspath(os.path.join(folder, *parts))


def _remove_empty_folder(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:  # absent or not empty
        pass


def _prepare_folder(folder: str) -> None:
    """Create ``folder``, or clear an earlier simulation in it; InputError for any other content."""
    if not folder:
        raise InputError("No output folder was given.")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise InputError(f"Output folder {folder} is a file.")
    os.makedirs(folder, exist_ok=True)
    content = set(os.listdir(folder))
    if not content:
        return
    if "simulation.json" not in content:
        raise InputError(f"Output folder {folder} is not empty and holds no earlier simulation: "
                         "choose a new or empty folder.")
    for name in _OUTPUT_FILES:
        remove_quietly(os.path.join(folder, name))
    for name in _OUTPUT_DIRS:
        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def _cloud_field(seed: int, day: int, cover: float, blocks):
    """(threshold, field) of a date's clouds at block resolution (cloudy where field > threshold), or None when clear."""
    if cover <= 0:
        return None
    rng = np.random.default_rng([seed, _CLOUDS, day])
    field_blocks = smooth_field(rng, blocks, CLOUD_SCALE / (BLOCK * FINE_PIXEL))
    return float(np.quantile(field_blocks, 1.0 - cover)), field_blocks


def _write(written: List[str], folder: str, relative: str, array: np.ndarray, grid: Grid,
           units: str, date: str) -> None:
    """Write a Float32 LST raster at folder/relative ('kind/DATE.tif')."""
    kind = relative.split("/")[0]
    path = _path(folder, relative)
    with RasterWriter(path, grid, units=units, descriptions=[band_description(f"{kind} LST {date}", units)],
                      metadata={"SIM_DATE": date, "SIM_KIND": kind}) as writer:
        writer.write(array.astype(np.float32))
    written.append(path)


def _read_csv(path: str) -> List[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write_landcover(path: str, classes: np.ndarray, grids: SceneGrids) -> str:
    """Byte GeoTIFF of the class codes on the fine grid, with a colour table and class names."""
    ds = gdal.GetDriverByName("GTiff").Create(path, grids.fine.width, grids.fine.height, 1,
                                              gdal.GDT_Byte, GTIFF_OPTIONS[:1])
    ds.SetGeoTransform(grids.fine.transform)
    ds.SetProjection(grids.fine.crs_wkt)
    band = ds.GetRasterBand(1)
    band.WriteArray(grids.fine_window(classes))
    band.SetNoDataValue(0)
    table = gdal.ColorTable()
    names = [""] * (max(c.code for c in CLASSES) + 1)
    for c in CLASSES:
        table.SetColorEntry(c.code, c.colour + (255,))
        names[c.code] = c.name
    band.SetColorTable(table)
    band.SetCategoryNames(names)
    band.SetDescription("land cover")
    ds = None  # the class names go to PATH.aux.xml (GeoTIFF cannot hold them)
    return path


def _write_csv(path: str, header: List[str], rows: List[dict]) -> str:
    tmp = path + ".partial"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def _grid_dict(grid: Grid) -> dict:
    return {"crs": crs_name(grid.crs_wkt), "wkt": grid.crs_wkt, "transform": list(grid.transform),
            "width": grid.width, "height": grid.height}


def _discrepancy_dict(discrepancy) -> dict:
    """The per-date MODIS-Landsat discrepancy of a real-like simulation, for simulation.json."""
    def rounded(values):
        return [round(float(v), 3) for v in values]
    return {"scan_position": rounded(discrepancy.scan), "view_zenith_deg": rounded(discrepancy.view_zenith),
            "time_after_fine_h": rounded(discrepancy.time_lag), "date_bias_k": rounded(discrepancy.date_bias),
            "retrieval_error_std_k": discrepancy.error_std,
            "by_class_k": {c.name: rounded(discrepancy.by_class[:, c.code]) for c in CLASSES}}


def _write_metadata(path: str, settings: SimulationSettings, grids: SceneGrids, surface: Surface,
                    series, dates: List[str]) -> str:
    """simulation.json: everything needed to understand (and redo) the simulation."""
    forcing, discrepancy = series
    rows, cols = np.unravel_index(surface.harvest_pixels, surface.classes.shape)
    top, left = grids.fine_offset
    inside = ((rows >= top) & (rows < top + grids.fine.height)
              & (cols >= left) & (cols < left + grids.fine.width))
    harvest_days = surface.harvest_pixel_day[inside]
    counts = np.bincount(surface.classes.ravel(), minlength=len(CLASSES) + 1)
    fine_counts = np.bincount(grids.fine_window(surface.classes).ravel(), minlength=len(CLASSES) + 1)
    meta = {
        "generator": "lst_fusion_plugin simulation.simulate",
        "settings": asdict(settings),
        "variability": asdict(VARIABILITY[settings.variability]),
        "fine_grid": _grid_dict(grids.fine),
        "coarse_grid": _grid_dict(grids.coarse),
        "world_grid": dict(_grid_dict(grids.world), fine_offset=list(grids.fine_offset)),
        "classes": [{"code": c.code, "name": c.name, "offset_at_full_sun_k": c.offset,
                     "weather_gain": float(surface.gain_by_class[c.code]),
                     "share_of_fine_extent": float(fine_counts[c.code] / fine_counts.sum()),
                     "share_of_world": float(counts[c.code] / counts.sum())} for c in CLASSES],
        "events": {
            "heat_waves": [{"first": dates[a], "last": dates[b],
                            "peak_k": float(forcing.heat_wave[a:b + 1].max())}
                           for a, b in forcing.heat_waves],
            "harvests": [{"date": dates[d], "fine_pixels": int((harvest_days == d).sum())}
                         for d in np.unique(harvest_days)],
        },
        "coarse_sensor": {"psf": "gaussian", "psf_sigma_m": settings.psf_sigma,
                          "psf_truncation_sigmas": PSF_TRUNCATION,
                          "psf_integration_block_px": BLOCK, "noise_std_k": settings.coarse_noise,
                          "bias_mean_k": settings.coarse_bias, "bias_std_k": settings.coarse_bias_std,
                          "cloudy_when_footprint_cover_above": CLOUDY_FOOTPRINT},
        **({"coarse_discrepancy": _discrepancy_dict(discrepancy)} if discrepancy.active else {}),
        "fine_sensor": {"noise_std_k": settings.fine_noise, "revisit_days": settings.revisit},
        "units": settings.units,
    }
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=1)
    os.replace(tmp, path)
    return path
