"""lstfusion:download: MODIS and Landsat LST windows of an area from a STAC catalogue."""
from qgis.core import (QgsProcessingException, QgsProcessingOutputFile,
                       QgsProcessingOutputFolder, QgsProcessingOutputNumber, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..preprocessing.stac_catalogue import DEFAULT_API, PRODUCTS
from ..common.dates import parse_user_date
from ..preprocessing.stac_download import AUTO, DownloadRequest, download
from .base import LstFusionAlgorithm
from .compat import WKT_PREFERRED_GDAL

DEFAULT_PRODUCTS = [0, 4, 5]
"""MODIS Terra day, Landsat 9 and Landsat 8."""


class Download(LstFusionAlgorithm):
    """Search a STAC API and read only the area's pixels of every MODIS / Landsat item found."""

    EXTENT = "EXTENT"
    START_DATE = "START_DATE"
    END_DATE = "END_DATE"
    PRODUCTS = "PRODUCTS"
    MAX_CLOUD = "MAX_CLOUD"
    STAC_API = "STAC_API"
    TOKEN_URL = "TOKEN_URL"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    MODIS_FOLDER = "MODIS_FOLDER"
    LANDSAT_FOLDER = "LANDSAT_FOLDER"
    SUMMARY = "SUMMARY"
    WRITTEN_COUNT = "WRITTEN_COUNT"
    SKIPPED_COUNT = "SKIPPED_COUNT"

    NAME = "download"
    DISPLAY_NAME = "Download MODIS / Landsat LST (STAC)"
    GROUP = "Preprocessing"
    GROUP_ID = "preprocessing"
    HELP = ("Searches a STAC API (default: Microsoft Planetary Computer, no account needed) for MODIS "
            "MOD11A1 / MYD11A1 (collection modis-11A1-061) and Landsat Collection 2 Level-2 (landsat-c2-l2) "
            "items over EXTENT (an extent without a CRS is taken as WGS 84 lon/lat) between START_DATE "
            "and END_DATE (YYYY-MM-DD), and reads from their "
            "cloud-optimised GeoTIFFs only the pixels covering the area (HTTP range requests), in the "
            "product's own grid and values (DN, not rescaled), with the QC / QA_PIXEL band beside.\n\n"
            "Files are named as NASA and USGS name them, so that 'Build LST series from downloads' reads "
            "the two output folders unchanged: modis/<granule>.tif (bands LST_Day_1km, QC_Day and/or "
            "LST_Night_1km, QC_Night) and landsat/<product id>/<product id>_ST_B10.TIF, _QA_PIXEL.TIF, "
            "_MTL.txt. MODIS tiles are written apart (buildseries mosaics them per date); Landsat "
            "path/rows of one date are mosaicked into one scene.\n\n"
            "MAX_CLOUD is the largest Landsat scene cloud cover (%). Run again with the same settings to "
            "resume: files already on disk are skipped. Busy servers (HTTP 429, 5xx) are retried with "
            "back-off; Planetary Computer's access tokens are renewed during long runs. Another STAC API "
            "serving the same collections works too (assets are then read unsigned unless TOKEN_URL "
            "names a token service).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: area, dates, products, cloud limit, API -> output folder(s)."""
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, self.tr("Area")))
        self.addParameter(QgsProcessingParameterString(self.START_DATE, self.tr("Start date (YYYY-MM-DD)")))
        self.addParameter(QgsProcessingParameterString(self.END_DATE, self.tr("End date (YYYY-MM-DD)")))
        self.addParameter(QgsProcessingParameterEnum(
            self.PRODUCTS, self.tr("Products"), options=[p.label for p in PRODUCTS], allowMultiple=True,
            defaultValue=DEFAULT_PRODUCTS))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_CLOUD, self.tr("Largest Landsat scene cloud cover (%)"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=50.0, minValue=0.0, maxValue=100.0))
        self.addParameter(QgsProcessingParameterString(self.STAC_API, self.tr("STAC API"), defaultValue=DEFAULT_API))
        token = QgsProcessingParameterString(
            self.TOKEN_URL, self.tr("Token service for the assets ({collection} = collection id; empty: "
                                    "automatic, Planetary Computer's for its API)"), optional=True)
        self.add_advanced(token)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Download folder")))
        self.addOutput(QgsProcessingOutputFolder(self.MODIS_FOLDER, self.tr("MODIS folder")))
        self.addOutput(QgsProcessingOutputFolder(self.LANDSAT_FOLDER, self.tr("Landsat folder")))
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, self.tr("Summary")))
        self.addOutput(QgsProcessingOutputNumber(self.WRITTEN_COUNT, self.tr("Number of items written")))
        self.addOutput(QgsProcessingOutputNumber(self.SKIPPED_COUNT, self.tr("Number of items already on disk")))

    def process(self, parameters, context, feedback, progress):
        """Search and download into OUTPUT_FOLDER."""
        rect = self.parameterAsExtent(parameters, self.EXTENT, context)
        if rect.isEmpty():
            raise QgsProcessingException(self.tr("The area (EXTENT) is empty."))
        crs = self.parameterAsExtentCrs(parameters, self.EXTENT, context)
        token = self.parameterAsString(parameters, self.TOKEN_URL, context).strip()
        request = DownloadRequest(
            area=(rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()),
            area_crs=crs.toWkt(WKT_PREFERRED_GDAL) if crs.isValid() else "",
            start=self.date(parameters, self.START_DATE, context),
            end=self.date(parameters, self.END_DATE, context),
            products=[PRODUCTS[i].key for i in self.parameterAsEnums(parameters, self.PRODUCTS, context)],
            max_cloud=self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
            api_url=self.parameterAsString(parameters, self.STAC_API, context).strip() or DEFAULT_API,
            token_url=token or AUTO)
        out_folder = self.parameterAsFileOutput(parameters, self.OUTPUT_FOLDER, context)
        report = download(request, out_folder, progress)
        message = self.tr("{found} item(s) found: {written} written, {skipped} already on disk, {empty} without "
                          "data in the area, {failed} failed. Summary: {summary}").format(
            found=report.found, written=report.written, skipped=report.skipped, empty=report.empty,
            failed=report.failed, summary=report.summary_path)
        if report.failed:
            feedback.pushWarning(message + " " + self.tr("Run again with the same settings to resume."))
        else:
            feedback.pushInfo(message)
        return {self.OUTPUT_FOLDER: out_folder, self.MODIS_FOLDER: report.modis_folder,
                self.LANDSAT_FOLDER: report.landsat_folder, self.SUMMARY: report.summary_path,
                self.WRITTEN_COUNT: report.written, self.SKIPPED_COUNT: report.skipped}

    def date(self, parameters, name: str, context):
        """The date parameter ``name``; QgsProcessingException when empty or malformed."""
        value = parse_user_date(self.parameterAsString(parameters, name, context), name)
        if value is None:
            raise QgsProcessingException(self.tr("{name}: give a date written YYYY-MM-DD.").format(name=name))
        return value
