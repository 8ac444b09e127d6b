<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Scout: one line per team and day, coloured by team (same colours as tasks). -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling|Fields" labelsEnabled="1">
  <renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <symbols>
      <symbol name="0" type="line" alpha="0.9" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleLine" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="line_color" type="QString" value="40,40,40,255"/>
            <Option name="line_style" type="QString" value="solid"/>
            <Option name="line_width" type="QString" value="1"/>
            <Option name="line_width_unit" type="QString" value="MM"/>
            <Option name="capstyle" type="QString" value="round"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
          <data_defined_properties>
            <Option type="Map">
              <Option name="name" type="QString" value=""/>
              <Option name="properties" type="Map">
                <Option name="outlineColor" type="Map">
                  <Option name="active" type="bool" value="true"/>
                  <Option name="expression" type="QString" value="color_hsv((&quot;team&quot; * 67) % 360, 85, 90)"/>
                  <Option name="type" type="int" value="3"/>
                </Option>
              </Option>
              <Option name="type" type="QString" value="collection"/>
            </Option>
          </data_defined_properties>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="concat('team ', &quot;team&quot;, ' day ', &quot;day&quot;)" isExpression="1" fontSize="8" fontSizeUnit="Point" textColor="0,0,0,255" textOpacity="1" fontFamily="Sans Serif">
        <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.9" bufferNoFill="1" bufferJoinStyle="128"/>
      </text-style>
      <placement placement="2" placementFlags="10" dist="1" distUnits="MM" priority="4"/>
      <rendering drawLabels="1" obstacle="0" displayAll="0" upsidedownLabels="0" labelPerPart="0" mergeLines="1" minFeatureSize="0" scaleVisibility="0" zIndex="0"/>
    </settings>
  </labeling>
  <previewExpression>concat('team ', "team", ' day ', "day", ': ', "stops", ' stops')</previewExpression>
  <layerGeometryType>1</layerGeometryType>
</qgis>
