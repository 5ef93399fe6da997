"""A fake Planetary Computer for the download tests: COGs made here, items shaped like the catalogue's.

MODIS: tiles h17v04 and h18v04 of the sinusoidal grid (1200 x 1200 pixels of 926.6 m), assets
LST_Day_1km / LST_Night_1km (uint16, no-data 0) and QC_Day / QC_Night (uint8); items without
``proj:epsg`` (null), with ``proj:wkt2``, ``start_datetime``/``end_datetime`` and a null
``datetime``, as the modis-11A1-061 items are. Landsat: scenes of 1600 x 1600 pixels of 30 m in
UTM 31N, ST_B10 (uint16, no-data 0) and QA_PIXEL (uint16, no-data 1), an MTL text, items with
``eo:cloud_cover``, ``platform``, ``proj:epsg``, ``landsat:wrs_path``/``row``, as landsat-c2-l2's.
Asset files are 256 x 256-tiled COGs, so that a small window touches few tiles.
"""
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Dict

import numpy as np
import pytest
from osgeo import gdal, osr

from stac_server import StacServer

SINUSOIDAL = ('PROJCS["unnamed",GEOGCS["Unknown datum based upon the custom spheroid",DATUM["Not specified '
              '(based on custom spheroid)",SPHEROID["Custom spheroid",6371007.181,0]],PRIMEM["Greenwich",0],'
              'UNIT["degree",0.0174532925199433]],PROJECTION["Sinusoidal"],PARAMETER["longitude_of_center",0],'
              'PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["Meter",1]]')
TILE_SIZE = 1111950.519767
MODIS_PIXEL = TILE_SIZE / 1200
GRID_X0, GRID_Y0 = -20015109.354, 10007554.677
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
SCENE = 1600
LANDSAT_X0, LANDSAT_Y0 = 380085.0, 5340015.0
ROW_027_Y0 = LANDSAT_Y0 - 1500 * 30.0  # the next WRS row: 100 rows of overlap
QA_CLEAR, QA_CLOUD = 21824, 22280
D1, D2, D3, D4 = dt.date(2020, 7, 18), dt.date(2020, 8, 3), dt.date(2020, 8, 19), dt.date(2020, 7, 26)
MTL = ("GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS\n  TEMPERATURE_MULT_BAND_ST_B10 = 3.41802E-03\n"
       "  TEMPERATURE_ADD_BAND_ST_B10 = 149.0\nEND_GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS\nEND\n")


@dataclass
class Catalogue:
    """The running server and the local files behind its URLs."""

    server: StacServer
    local: Dict[str, str] = field(default_factory=dict)
    """URL path -> local COG."""

    @property
    def url(self) -> str:
        return self.server.url

    def path_of(self, item: dict, asset: str) -> str:
        """URL path of an item's asset."""
        return item["assets"][asset]["href"][len(self.url):]

    def item(self, item_id: str) -> dict:
        return next(i for i in self.server.items if i["id"] == item_id)


def tile_transform(h: int, v: int):
    """Geotransform of MODIS tile h, v."""
    return (GRID_X0 + h * TILE_SIZE, MODIS_PIXEL, 0.0, GRID_Y0 - v * TILE_SIZE, 0.0, -MODIS_PIXEL)


def utm31() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    return srs.ExportToWkt()


def write_cog(path: str, values: np.ndarray, transform, wkt: str, nodata=None) -> str:
    """A 256 x 256-tiled, deflate-compressed COG of one band."""
    kind = {np.dtype(np.uint8): gdal.GDT_Byte, np.dtype(np.uint16): gdal.GDT_UInt16}[values.dtype]
    mem = gdal.GetDriverByName("MEM").Create("", values.shape[1], values.shape[0], 1, kind)
    mem.SetGeoTransform(transform)
    mem.SetProjection(wkt)
    if nodata is not None:
        mem.GetRasterBand(1).SetNoDataValue(nodata)
    mem.GetRasterBand(1).WriteArray(values)
    gdal.GetDriverByName("COG").CreateCopy(path, mem, options=["BLOCKSIZE=256", "COMPRESS=DEFLATE"])
    return path


def _field(shape, seed: int, low: float, high: float) -> np.ndarray:
    """A smooth field with pixel noise between ``low`` and ``high`` (float64)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    smooth = 0.5 + 0.25 * np.sin(6 * x + seed) * np.cos(5 * y) + 0.2 * x
    return low + (high - low) * np.clip(smooth + rng.normal(0, 0.03, shape), 0, 1)


def _wgs84_bbox(transform, width: int, height: int, wkt: str):
    source = osr.SpatialReference()
    source.ImportFromWkt(wkt)
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    target = osr.SpatialReference()
    target.ImportFromEPSG(4326)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x0, y1 = transform[0], transform[3]
    x1, y0 = x0 + transform[1] * width, y1 + transform[5] * height
    return list(osr.CoordinateTransformation(source, target).TransformBounds(x0, y0, x1, y1, 21))


def modis_item(base: str, granule: str, h: int, v: int, date: dt.date) -> dict:
    """An item like modis-11A1-061's (assets pointing at ``base``)."""
    item_id = ".".join(granule.split(".")[:4])
    folder = f"/modis-061-cogs/{granule[:7]}/{h:02d}/{v:02d}/{granule.split('.')[1][1:]}"
    assets = {name: {"href": f"{base}{folder}/{granule}_{name}.tif", "type": COG, "roles": ["data"],
                     "raster:bands": [{"data_type": kind, "spatial_resolution": 1000, **extra}]}
              for name, kind, extra in (("LST_Day_1km", "uint16", {"unit": "Kelvin", "scale": 0.02}),
                                        ("QC_Day", "uint8", {}),
                                        ("LST_Night_1km", "uint16", {"unit": "Kelvin", "scale": 0.02}),
                                        ("QC_Night", "uint8", {}))}
    assets["hdf"] = {"href": f"{base}/modis-061/{granule}.hdf", "type": "application/x-hdf", "roles": ["data"]}
    transform = tile_transform(h, v)
    return {"type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": "modis-11A1-061",
            "bbox": _wgs84_bbox(transform, 1200, 1200, SINUSOIDAL), "geometry": None, "links": [],
            "stac_extensions": ["https://stac-extensions.github.io/projection/v1.0.0/schema.json"],
            "properties": {"datetime": None, "start_datetime": f"{date}T00:00:00Z",
                           "end_datetime": f"{date}T23:59:59Z", "platform": "terra" if granule[:3] == "MOD"
                           else "aqua", "instruments": ["modis"], "modis:horizontal-tile": h,
                           "modis:vertical-tile": v, "modis:tile-id": f"5{h:03d}{v:03d}", "proj:epsg": None,
                           "proj:wkt2": SINUSOIDAL, "proj:shape": [1200, 1200], "proj:transform": list(transform),
                           "eo:cloud_cover": 80},
            "assets": assets}


def landsat_item(base: str, product_id: str, date: dt.date, cloud: float, y0: float) -> dict:
    """An item like landsat-c2-l2's; ``product_id`` is the USGS one (with the processing date)."""
    mission, path, row = product_id[:4], product_id[10:13], product_id[13:16]
    item_id = "_".join(product_id.split("_")[:4] + product_id.split("_")[5:])
    folder = f"/landsat-c2/level-2/standard/oli-tirs/{date.year}/{path}/{row}/{product_id}"
    thermal = "lwir11" if mission in ("LC08", "LC09") else "lwir"
    band = "ST_B10" if thermal == "lwir11" else "ST_B6"
    assets = {
        thermal: {"href": f"{base}{folder}/{product_id}_{band}.TIF", "type": COG, "roles": ["data", "temperature"],
                  "raster:bands": [{"nodata": 0, "data_type": "uint16", "spatial_resolution": 30, "unit": "kelvin",
                                    "scale": 0.00341802, "offset": 149.0}]},
        "qa_pixel": {"href": f"{base}{folder}/{product_id}_QA_PIXEL.TIF", "type": COG,
                     "roles": ["cloud", "cloud-shadow", "snow-ice", "water-mask"],
                     "raster:bands": [{"nodata": 1, "data_type": "uint16", "spatial_resolution": 30,
                                       "unit": "bit index"}]},
        "mtl.txt": {"href": f"{base}{folder}/{product_id}_MTL.txt", "type": "text/plain", "roles": ["metadata"]},
    }
    transform = (LANDSAT_X0, 30.0, 0.0, y0, 0.0, -30.0)
    platform = {"LC09": "landsat-9", "LC08": "landsat-8", "LE07": "landsat-7", "LT05": "landsat-5"}[mission]
    return {"type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": "landsat-c2-l2",
            "bbox": _wgs84_bbox(transform, SCENE, SCENE, utm31()), "geometry": None, "links": [],
            "stac_extensions": ["https://stac-extensions.github.io/projection/v1.0.0/schema.json",
                                "https://stac-extensions.github.io/eo/v1.0.0/schema.json"],
            "properties": {"datetime": f"{date}T10:35:12.123456Z", "platform": platform, "eo:cloud_cover": cloud,
                           "proj:epsg": 32631, "proj:shape": [SCENE, SCENE], "proj:transform": list(transform),
                           "landsat:wrs_path": path, "landsat:wrs_row": row, "landsat:collection_category": "T1",
                           "landsat:correction": "L2SP"},
            "assets": assets}


def start_catalogue(folder: str) -> Catalogue:
    """Make the COGs in ``folder``, start the server and publish the items (see the module docstring).

    MODIS: Terra h18v04 on D1 and D2, Terra h17v04 on D1, Aqua h18v04 on D1. Landsat 8 path 198
    row 026 on D1 and D2 (cloud 12 %), row 027 on D1, row 026 on D3 (cloud 85 %), Landsat 7 on D4.
    """
    server = StacServer().start()
    catalogue = Catalogue(server)
    files = {}
    for h, seed in ((17, 1), (18, 2)):
        transform = tile_transform(h, 4)
        lst = np.round(_field((1200, 1200), seed, 13500, 15500)).astype(np.uint16)
        night = (lst - 600).astype(np.uint16)
        qc = np.where(_field((1200, 1200), seed + 10, 0, 1) > 0.8, 65, 0).astype(np.uint8)
        files[h] = {
            "LST_Day_1km": write_cog(os.path.join(folder, f"h{h}_day.tif"), lst, transform, SINUSOIDAL, 0),
            "QC_Day": write_cog(os.path.join(folder, f"h{h}_qc_day.tif"), qc, transform, SINUSOIDAL),
            "LST_Night_1km": write_cog(os.path.join(folder, f"h{h}_night.tif"), night, transform, SINUSOIDAL, 0),
            "QC_Night": write_cog(os.path.join(folder, f"h{h}_qc_night.tif"), qc, transform, SINUSOIDAL),
        }
    for granule, h, date in (("MOD11A1.A2020200.h18v04.061.2020201095403", 18, D1),
                             ("MOD11A1.A2020216.h18v04.061.2020217093011", 18, D2),
                             ("MOD11A1.A2020200.h17v04.061.2020201095327", 17, D1),
                             ("MYD11A1.A2020200.h18v04.061.2020201143117", 18, D1)):
        item = modis_item(server.url, granule, h, 4, date)
        server.items.append(item)
        for asset, local in files[h].items():
            catalogue.local[catalogue.path_of(item, asset)] = local
    scenes = {}
    for row, y0, seed in (("026", LANDSAT_Y0, 3), ("027", ROW_027_Y0, 4)):
        transform = (LANDSAT_X0, 30.0, 0.0, y0, 0.0, -30.0)
        st = np.round(_field((SCENE, SCENE), seed, 39000, 45000)).astype(np.uint16)
        qa = np.where(_field((SCENE, SCENE), seed + 10, 0, 1) > 0.85, QA_CLOUD, QA_CLEAR).astype(np.uint16)
        st[:, :40] = 0  # fill on the scene's west edge, as in a real scene
        qa[:, :40] = 1
        scenes[row] = {"st": write_cog(os.path.join(folder, f"r{row}_st.tif"), st, transform, utm31(), 0),
                       "qa": write_cog(os.path.join(folder, f"r{row}_qa.tif"), qa, transform, utm31(), 1)}
    mtl = os.path.join(folder, "mtl.txt")
    with open(mtl, "w", encoding="utf-8") as f:
        f.write(MTL)
    for product_id, date, cloud, row in (("LC08_L2SP_198026_20200718_20200912_02_T1", D1, 12.0, "026"),
                                         ("LC08_L2SP_198027_20200718_20200912_02_T1", D1, 12.0, "027"),
                                         ("LC08_L2SP_198026_20200803_20200914_02_T1", D2, 12.0, "026"),
                                         ("LC08_L2SP_198026_20200819_20200919_02_T1", D3, 85.0, "026"),
                                         ("LE07_L2SP_198026_20200726_20200821_02_T1", D4, 5.0, "026")):
        item = landsat_item(server.url, product_id, date, cloud, LANDSAT_Y0 if row == "026" else ROW_027_Y0)
        server.items.append(item)
        thermal = "lwir11" if product_id.startswith("LC") else "lwir"
        catalogue.local[catalogue.path_of(item, thermal)] = scenes[row]["st"]
        catalogue.local[catalogue.path_of(item, "qa_pixel")] = scenes[row]["qa"]
        catalogue.local[catalogue.path_of(item, "mtl.txt")] = mtl
    server.files.update(catalogue.local)
    return catalogue


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """The fake catalogue, for the tests of one module (import this fixture there)."""
    catalogue = start_catalogue(str(tmp_path_factory.mktemp("stac")))
    yield catalogue
    catalogue.server.stop()


@pytest.fixture
def server(catalogue, monkeypatch):
    """The server with fresh counters, GDAL's HTTP cache emptied, no proxy for 127.0.0.1."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    catalogue.server.reset()
    gdal.VSICurlClearCache()
    return catalogue.server
