<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="270.0" classificationMax="330.0" nodataColor="">
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" labelPrecision="1" minimumValue="270.0" maximumValue="330.0">
          <item alpha="255" value="270.00" label="270.0 K" color="#313695"/>
          <item alpha="255" value="276.00" label="276.0 K" color="#4575b4"/>
          <item alpha="255" value="282.00" label="282.0 K" color="#74add1"/>
          <item alpha="255" value="288.00" label="288.0 K" color="#abd9e9"/>
          <item alpha="255" value="294.00" label="294.0 K" color="#e0f3f8"/>
          <item alpha="255" value="300.00" label="300.0 K" color="#ffffbf"/>
          <item alpha="255" value="306.00" label="306.0 K" color="#fee090"/>
          <item alpha="255" value="312.00" label="312.0 K" color="#fdae61"/>
          <item alpha="255" value="318.00" label="318.0 K" color="#f46d43"/>
          <item alpha="255" value="324.00" label="324.0 K" color="#d73027"/>
          <item alpha="255" value="330.00" label="330.0 K" color="#a50026"/>
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
