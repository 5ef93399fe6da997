<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Categorised style for the per-date quality codes of fuseseries (workflows/cloud_fill.py) -->
<qgis version="3.22.16" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <colorPalette>
        <paletteEntry value="0" alpha="255" label="0 not predicted" color="#bdbdbd"/>
        <paletteEntry value="1" alpha="255" label="1 observed coarse" color="#1a9641"/>
        <paletteEntry value="2" alpha="255" label="2 coarse filled in time" color="#fdae61"/>
        <paletteEntry value="3" alpha="255" label="3 coarse filled spatially" color="#d7191c"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
