<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Scout: fields the model did not flag, drawn by reviewers: a cyan outline over a dark one, labelled
     with their class; class is a drop-down (values poppy, cannabis); reviewed_by/reviewed_at are stamped. -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling|Fields|Forms" labelsEnabled="1">
  <renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <symbols>
      <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="0,0,0,200"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="1.2"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,229,255,30"/>
            <Option name="style" type="QString" value="solid"/>
            <Option name="outline_color" type="QString" value="0,229,255,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.7"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="class" isExpression="0" fontSize="10" fontSizeUnit="Point" textColor="0,0,0,255" textOpacity="1" fontWeight="75" namedStyle="Bold" fontFamily="Sans Serif">
        <text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" bufferColor="0,229,255,255" bufferOpacity="1" bufferNoFill="1" bufferJoinStyle="128"/>
      </text-style>
      <placement placement="1" centroidInside="1" centroidWhole="0" fitInPolygonOnly="0" priority="5" dist="0" distUnits="MM"/>
      <rendering drawLabels="1" obstacle="1" displayAll="1" upsidedownLabels="0" labelPerPart="0" mergeLines="0" minFeatureSize="0" scaleVisibility="0" zIndex="1"/>
    </settings>
  </labeling>
  <fieldConfiguration>
    <field name="class" configurationFlags="None">
      <editWidget type="ValueMap">
        <config>
          <Option type="Map">
            <Option name="map" type="List">
              <Option type="Map">
                <Option name="poppy" type="QString" value="poppy"/>
              </Option>
              <Option type="Map">
                <Option name="cannabis" type="QString" value="cannabis"/>
              </Option>
            </Option>
          </Option>
        </config>
      </editWidget>
    </field>
    <field name="note" configurationFlags="None">
      <editWidget type="TextEdit">
        <config>
          <Option type="Map">
            <Option name="IsMultiline" type="bool" value="true"/>
            <Option name="UseHtml" type="bool" value="false"/>
          </Option>
        </config>
      </editWidget>
    </field>
  </fieldConfiguration>
  <aliases>
    <alias field="class" index="-1" name="Class"/>
    <alias field="note" index="-1" name="Note"/>
    <alias field="reviewed_by" index="-1" name="Reviewed by"/>
    <alias field="reviewed_at" index="-1" name="Reviewed at"/>
  </aliases>
  <defaults>
    <default field="class" expression="'poppy'" applyOnUpdate="0"/>
    <default field="reviewed_by" expression="coalesce(nullif(@user_full_name, ''), &quot;reviewed_by&quot;, '')" applyOnUpdate="1"/>
    <default field="reviewed_at" expression="format_date(now(), 'yyyy-MM-dd hh:mm:ss')" applyOnUpdate="1"/>
  </defaults>
  <constraints>
    <constraint field="class" constraints="5" notnull_strength="1" unique_strength="0" exp_strength="1"/>
  </constraints>
  <constraintExpressions>
    <constraint field="class" exp="&quot;class&quot; IN ('poppy', 'cannabis')" desc="poppy or cannabis"/>
  </constraintExpressions>
  <previewExpression>concat("class", ' ', "note")</previewExpression>
  <layerGeometryType>2</layerGeometryType>
</qgis>
