"""The products the download reads, and the item search on a STAC API (pystac-client).

Item and asset fields were checked against the catalogue's published templates
(microsoft/planetary-computer-tasks ``datasets/modis/collection/modis-11A1-061/template.json``
and ``datasets/landsat/collection/landsat-c2-l2/template.json``) and the example items of the
stactools packages that build those items (stactools-packages/modis and /landsat):

- ``modis-11A1-061``: item ids ``MOD11A1.A2022041.h19v02.061`` (Terra) / ``MYD11A1...`` (Aqua);
  ``datetime`` is null, the day is ``start_datetime``/``end_datetime``; ``platform`` is 'terra'
  or 'aqua' (empty on some items, so the id prefix decides here); ``proj:epsg`` is null (the
  sinusoidal CRS is only in ``proj:wkt2``, and in the COGs); MODIS items also carry
  ``eo:cloud_cover``, so the cloud limit is only applied to Landsat. COG assets ``LST_Day_1km``,
  ``LST_Night_1km`` (uint16, scale 0.02, Kelvin) and ``QC_Day``, ``QC_Night`` (uint8), media type
  ``image/tiff; application=geotiff; profile=cloud-optimized``, files named
  ``<granule id>_<asset>.tif`` with the granule's production time in the granule id.
- ``landsat-c2-l2``: item ids ``LC08_L2SP_047027_20201204_02_T1`` (without the processing date);
  ``platform`` 'landsat-4' ... 'landsat-9'; ``eo:cloud_cover`` (scene, %); ``proj:epsg`` (UTM);
  ``landsat:wrs_path``/``landsat:wrs_row``; assets ``lwir11`` (ST_B10, Landsat 8/9) or ``lwir``
  (ST_B6, Landsat 4-7): uint16, scale 0.00341802, offset 149.0, nodata 0; ``qa_pixel`` (uint16,
  nodata 1); ``mtl.txt`` (text); files named as USGS delivers them
  (``<product id>_ST_B10.TIF``, with the processing date).

Searches use pystac-client, which follows the API's ``next`` links (paging). The cloud limit
goes to the API as a ``query`` on ``eo:cloud_cover`` when the API conforms to the query
extension, and is checked again on every item returned.
"""
import datetime as dt
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from ..common.deps import deps_dir
from ..common.errors import InputError

DEFAULT_API = "https://planetarycomputer.microsoft.com/api/stac/v1"
PYSTAC_CLIENT_VERSION = "0.9.1"
MODIS_COLLECTION = "modis-11A1-061"
LANDSAT_COLLECTION = "landsat-c2-l2"
TRANSIENT_STATUS = (429, 500, 502, 503, 504)
"""HTTP answers retried with back-off (too many requests, server errors)."""


@dataclass(frozen=True)
class Product:
    """One choice of the PRODUCTS parameter: a collection, a platform and the assets read.

    ``assets`` are the item's asset keys in the order of the written bands (LST or thermal first,
    its QC / QA beside it).
    """

    key: str
    label: str
    collection: str
    platform: str
    assets: Tuple[str, ...]

    @property
    def is_modis(self) -> bool:
        """True for MOD11A1 / MYD11A1."""
        return self.collection == MODIS_COLLECTION


PRODUCTS = (
    Product("modis_terra_day", "MODIS Terra day (MOD11A1 LST_Day_1km + QC_Day)", MODIS_COLLECTION, "terra",
            ("LST_Day_1km", "QC_Day")),
    Product("modis_terra_night", "MODIS Terra night (MOD11A1 LST_Night_1km + QC_Night)", MODIS_COLLECTION,
            "terra", ("LST_Night_1km", "QC_Night")),
    Product("modis_aqua_day", "MODIS Aqua day (MYD11A1 LST_Day_1km + QC_Day)", MODIS_COLLECTION, "aqua",
            ("LST_Day_1km", "QC_Day")),
    Product("modis_aqua_night", "MODIS Aqua night (MYD11A1 LST_Night_1km + QC_Night)", MODIS_COLLECTION,
            "aqua", ("LST_Night_1km", "QC_Night")),
    Product("landsat_9", "Landsat 9 (ST_B10 + QA_PIXEL)", LANDSAT_COLLECTION, "landsat-9", ("lwir11", "qa_pixel")),
    Product("landsat_8", "Landsat 8 (ST_B10 + QA_PIXEL)", LANDSAT_COLLECTION, "landsat-8", ("lwir11", "qa_pixel")),
    Product("landsat_7", "Landsat 7 (ST_B6 + QA_PIXEL)", LANDSAT_COLLECTION, "landsat-7", ("lwir", "qa_pixel")),
    Product("landsat_5", "Landsat 5 (ST_B6 + QA_PIXEL)", LANDSAT_COLLECTION, "landsat-5", ("lwir", "qa_pixel")),
)
"""In the order of the Processing enum."""


def product(key: str) -> Product:
    """The product called ``key``; InputError listing the known ones otherwise."""
    for item in PRODUCTS:
        if item.key == key:
            return item
    raise InputError(f"Unknown product '{key}'; use {', '.join(p.key for p in PRODUCTS)}.")


def item_platform(item: dict) -> str:
    """'terra' / 'aqua' for MODIS items (from the id prefix), else the ``platform`` property."""
    prefix = item.get("id", "")[:3].upper()
    if prefix in ("MOD", "MYD"):
        return "terra" if prefix == "MOD" else "aqua"
    return str(item.get("properties", {}).get("platform", "")).lower()


def item_date(item: dict) -> dt.date:
    """The acquisition day of an item: ``datetime``, else ``start_datetime`` (MODIS days)."""
    properties = item.get("properties", {})
    stamp = properties.get("datetime") or properties.get("start_datetime")
    if not stamp:
        raise InputError(f"STAC item {item.get('id')} has neither 'datetime' nor 'start_datetime'.")
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()


def require_pystac_client():
    """Import and return pystac_client, or InputError saying how to install it."""
    try:
        import pystac_client
    except ImportError as err:
        raise InputError(
            "The download needs pystac-client, which is not installed for this Python. Install it with:\n"
            f"  python -m pip install --target \"{deps_dir()}\" pystac-client=={PYSTAC_CLIENT_VERSION}\n"
            "then restart QGIS.") from err
    return pystac_client


@dataclass(frozen=True)
class Search:
    """One item search: a collection over a WGS 84 box (lon/lat degrees) and a date range."""

    api_url: str
    collection: str
    bbox: Tuple[float, float, float, float]
    start: dt.date
    end: dt.date
    max_cloud: Optional[float] = None
    """Largest ``eo:cloud_cover`` (%) kept, or None for no limit."""
    page_size: int = 100
    retries: int = 3
    backoff: float = 1.0
    """Seconds before the first retry of a transient HTTP error; doubled at each retry."""


def search_items(search: Search) -> List[dict]:
    """Every item (as a STAC dict) of ``search``, through all pages; InputError when the API
    cannot be reached, answers with an error, or has no item search."""
    pystac_client = require_pystac_client()
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO
    from pystac_client.warnings import DoesNotConformTo
    from urllib3 import Retry

    retry = Retry(total=search.retries, connect=1, backoff_factor=search.backoff,
                  status_forcelist=TRANSIENT_STATUS, allowed_methods=None, raise_on_status=False)
    stac_io = StacApiIO(max_retries=retry, timeout=(15, 120))
    try:
        client = pystac_client.Client.open(search.api_url, stac_io=stac_io)
        query = None
        if search.max_cloud is not None and client.conforms_to(
                pystac_client.conformance.ConformanceClasses.QUERY):
            query = {"eo:cloud_cover": {"lte": search.max_cloud}}
        found = client.search(collections=[search.collection], bbox=list(search.bbox),
                              datetime=_interval(search.start, search.end), query=query,
                              limit=search.page_size)
        items = list(_kept(found.items_as_dicts(), search.max_cloud))
    except APIError as err:
        raise _api_error(search.api_url, err) from err
    except DoesNotConformTo as err:
        raise InputError(f"{search.api_url} is not a STAC API with item search ({err}): give the address "
                         "of a STAC API (the page listing its 'search' link).") from err
    except ValueError as err:  # an answer that is not JSON / not STAC
        raise InputError(f"{search.api_url} did not answer as a STAC API: {err}") from err
    finally:
        stac_io.session.close()
    return items


def _interval(start: dt.date, end: dt.date) -> str:
    """The STAC datetime interval covering whole days from ``start`` to ``end`` (UTC)."""
    return f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z"


def _kept(items: Iterator[dict], max_cloud: Optional[float]) -> Iterator[dict]:
    """Items whose ``eo:cloud_cover`` is within ``max_cloud`` (items without one are kept)."""
    for item in items:
        cover = item.get("properties", {}).get("eo:cloud_cover")
        if max_cloud is None or cover is None or float(cover) <= max_cloud:
            yield item


def _api_error(url: str, err) -> InputError:
    """A message a user can act on for an error of pystac-client's HTTP layer."""
    status = getattr(err, "status_code", None)
    if status is None:
        return InputError(f"Cannot reach the STAC API at {url}: {err}. Check the address, the internet "
                          "connection and any proxy (QGIS Settings > Options > Network).")
    if status in TRANSIENT_STATUS:
        return InputError(f"The STAC API at {url} kept answering HTTP {status} after several tries "
                          "(busy or down): try again later.")
    return InputError(f"The STAC API at {url} answered HTTP {status}: {str(err)[:300]}")

