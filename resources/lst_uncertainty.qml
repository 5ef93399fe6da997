<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Sequential style for interval half-widths (K, the same in degrees C): light = trustworthy, dark = uncertain -->
<qgis version="3.22.16" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="0.0" classificationMax="6.0" nodataColor="">
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" labelPrecision="1" minimumValue="0.0" maximumValue="6.0">
          <item alpha="255" value="0.00" label="0 K" color="#fff7ec"/>
          <item alpha="255" value="1.00" label="1 K" color="#fee8c8"/>
          <item alpha="255" value="2.00" label="2 K" color="#fdd49e"/>
          <item alpha="255" value="3.00" label="3 K" color="#fc8d59"/>
          <item alpha="255" value="4.00" label="4 K" color="#e34a33"/>
          <item alpha="255" value="5.00" label="5 K" color="#b30000"/>
          <item alpha="255" value="6.00" label="6 K or more" color="#7f0000"/>
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
