<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Diverging style for prediction - reference errors (K or degrees C): blue = too cold, red = too warm -->
<qgis version="3.22.16" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="-5.0" classificationMax="5.0" nodataColor="">
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" labelPrecision="0" minimumValue="-5.0" maximumValue="5.0">
          <item alpha="255" value="-5.00" label="-5" color="#053061"/>
          <item alpha="255" value="-4.00" label="-4" color="#2166ac"/>
          <item alpha="255" value="-3.00" label="-3" color="#4393c3"/>
          <item alpha="255" value="-2.00" label="-2" color="#92c5de"/>
          <item alpha="255" value="-1.00" label="-1" color="#d1e5f0"/>
          <item alpha="255" value="0.00" label="+0" color="#f7f7f7"/>
          <item alpha="255" value="1.00" label="+1" color="#fddbc7"/>
          <item alpha="255" value="2.00" label="+2" color="#f4a582"/>
          <item alpha="255" value="3.00" label="+3" color="#d6604d"/>
          <item alpha="255" value="4.00" label="+4" color="#b2182b"/>
          <item alpha="255" value="5.00" label="+5" color="#67001f"/>
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
