"""QGIS desktop pieces (menu entries, the installer dialog, the start-up offer, the pixel time-series tool).

Imported only from the plugin's ``initGui``, which QGIS calls in the desktop
application: never by ``qgis_process`` or the Processing algorithms.
"""
