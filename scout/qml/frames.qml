<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Scout: raw drone photos' footprints; used ones thin white, skipped ones dashed orange; labelled with the photo's file name at close zoom; read-only. -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling|Fields" labelsEnabled="1" readOnly="1">
  <renderer-v2 type="RuleRenderer" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <rules key="{5c1f0a9e-0000-4000-8000-000000000000}">
      <rule key="{5c1f0a9e-0000-4000-8000-000000000001}" filter="&quot;status&quot; = 'used'" label="used" symbol="0"/>
      <rule key="{5c1f0a9e-0000-4000-8000-000000000002}" filter="ELSE" label="skipped" symbol="1"/>
    </rules>
    <symbols>
      <symbol name="0" type="fill" alpha="0.7" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="255,255,255,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.2"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="miter"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="1" type="fill" alpha="0.9" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="255,140,0,255"/>
            <Option name="outline_style" type="QString" value="dash"/>
            <Option name="outline_width" type="QString" value="0.4"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="miter"/>
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="image" isExpression="0" fontSize="7" fontSizeUnit="Point" textColor="60,60,60,255" textOpacity="1" fontFamily="Sans Serif">
        <text-buffer bufferDraw="1" bufferSize="0.6" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" bufferNoFill="1" bufferJoinStyle="128"/>
      </text-style>
      <placement placement="1" centroidInside="1" centroidWhole="0" priority="1" dist="0" distUnits="MM"/>
      <rendering drawLabels="1" obstacle="0" displayAll="0" upsidedownLabels="0" labelPerPart="0" mergeLines="0" minFeatureSize="0" scaleVisibility="1" scaleMin="1" scaleMax="2500" zIndex="0"/>
    </settings>
  </labeling>
  <aliases>
    <alias field="image" index="-1" name="Photo"/>
    <alias field="agl_m" index="-1" name="Height above ground (m)"/>
    <alias field="gsd_m" index="-1" name="Ground pixel (m)"/>
    <alias field="yaw_deg" index="-1" name="Yaw (°)"/>
    <alias field="pitch_deg" index="-1" name="Pitch (°)"/>
    <alias field="status" index="-1" name="Status"/>
    <alias field="note" index="-1" name="Note"/>
  </aliases>
  <editable>
    <field name="image" editable="0"/>
    <field name="agl_m" editable="0"/>
    <field name="gsd_m" editable="0"/>
    <field name="yaw_deg" editable="0"/>
    <field name="pitch_deg" editable="0"/>
    <field name="status" editable="0"/>
    <field name="note" editable="0"/>
  </editable>
  <previewExpression>"image"</previewExpression>
  <layerGeometryType>2</layerGeometryType>
</qgis>
