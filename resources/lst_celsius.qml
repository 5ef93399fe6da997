<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="-3.15" classificationMax="56.85" nodataColor="">
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" labelPrecision="1" minimumValue="-3.15" maximumValue="56.85">
          <item alpha="255" value="-3.15" label="-3.1 °C" color="#313695"/>
          <item alpha="255" value="2.85" label="2.9 °C" color="#4575b4"/>
          <item alpha="255" value="8.85" label="8.8 °C" color="#74add1"/>
          <item alpha="255" value="14.85" label="14.8 °C" color="#abd9e9"/>
          <item alpha="255" value="20.85" label="20.9 °C" color="#e0f3f8"/>
          <item alpha="255" value="26.85" label="26.9 °C" color="#ffffbf"/>
          <item alpha="255" value="32.85" label="32.9 °C" color="#fee090"/>
          <item alpha="255" value="38.85" label="38.9 °C" color="#fdae61"/>
          <item alpha="255" value="44.85" label="44.9 °C" color="#f46d43"/>
          <item alpha="255" value="50.85" label="50.9 °C" color="#d73027"/>
          <item alpha="255" value="56.85" label="56.9 °C" color="#a50026"/>
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
