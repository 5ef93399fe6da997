"""QGIS enum values whose Qt 6-clean spelling does not exist yet in QGIS 3.22.

QGIS 3.36 moved these enums into the ``Qgis`` namespace with new member names
(``Qgis.ProcessingSourceType.Raster`` for ``QgsProcessing.TypeRaster``); QGIS 4
(Qt 6) drops the old unscoped spellings. Each name below is the new member where
it exists and the 3.22 scoped member otherwise. Enums whose members kept their
names are written scoped where they are used (``QgsProcessingParameterNumber.Type.Double``),
which works from 3.22 on.
"""
from qgis.core import (Qgis, QgsCoordinateReferenceSystem, QgsProcessing, QgsProcessingParameterDefinition,
                       QgsUnitTypes)

if hasattr(Qgis, "ProcessingSourceType"):  # QGIS >= 3.36
    SOURCE_RASTER = Qgis.ProcessingSourceType.Raster
    SOURCE_VECTOR_POLYGON = Qgis.ProcessingSourceType.VectorPolygon
    PARAMETER_ADVANCED = Qgis.ProcessingParameterFlag.Advanced
    WKT_PREFERRED_GDAL = Qgis.CrsWktVariant.PreferredGdal
else:  # QGIS 3.22 - 3.34
    SOURCE_RASTER = QgsProcessing.SourceType.TypeRaster
    SOURCE_VECTOR_POLYGON = QgsProcessing.SourceType.TypeVectorPolygon
    PARAMETER_ADVANCED = QgsProcessingParameterDefinition.Flag.FlagAdvanced
    WKT_PREFERRED_GDAL = QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL

if hasattr(Qgis, "TemporalUnit"):  # QGIS >= 3.30
    TEMPORAL_DAYS = Qgis.TemporalUnit.Days
else:
    TEMPORAL_DAYS = QgsUnitTypes.TemporalUnit.TemporalDays
