<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Scout: areas of interest, outline only, labelled with their name. -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling|Fields" labelsEnabled="1">
  <renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <symbols>
      <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="0,200,255,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.8"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="aoi" isExpression="0" fontSize="9" fontSizeUnit="Point" textColor="0,120,160,255" textOpacity="1" fontFamily="Sans Serif">
        <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" bufferNoFill="1" bufferJoinStyle="128"/>
      </text-style>
      <placement placement="2" priority="3" dist="1" distUnits="MM" polygonPlacementFlags="2" placementFlags="10"/>
      <rendering drawLabels="1" obstacle="0" displayAll="0" upsidedownLabels="0" labelPerPart="0" mergeLines="0" minFeatureSize="0" scaleVisibility="0" zIndex="0"/>
    </settings>
  </labeling>
  <editable>
    <field name="aoi" editable="0"/>
    <field name="area_m2" editable="0"/>
  </editable>
  <previewExpression>"aoi"</previewExpression>
  <layerGeometryType>2</layerGeometryType>
</qgis>
