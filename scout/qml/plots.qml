<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Scout: plots coloured by class (poppy magenta, cannabis amber) and drawn by review status
     (unreviewed: outline, faint fill; confirmed: light fill, black outline; false alarm: light dashed
     outline over a dark one, seen on any imagery; eradicated: hatched).  Fills stay light so the
     imagery inside a plot shows.  Labels show plot ID and mean confidence.  reviewed_by/reviewed_at
     describe the last change (the user's full name when QGIS/QField knows it).  review_status is a drop-down; the form puts
     the decision first.  Kept by hand: edit in QGIS and save as QML, then trim. -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling|Fields|Forms|MapTips" labelsEnabled="1">
  <renderer-v2 type="categorizedSymbol" attr="concat(&quot;class&quot;, ' ', &quot;review_status&quot;)" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <categories>
      <category symbol="0" value="poppy unreviewed" label="poppy: unreviewed" render="true"/>
      <category symbol="1" value="poppy confirmed" label="poppy: confirmed" render="true"/>
      <category symbol="2" value="poppy false_alarm" label="poppy: false alarm" render="true"/>
      <category symbol="3" value="poppy eradicated" label="poppy: eradicated" render="true"/>
      <category symbol="4" value="cannabis unreviewed" label="cannabis: unreviewed" render="true"/>
      <category symbol="5" value="cannabis confirmed" label="cannabis: confirmed" render="true"/>
      <category symbol="6" value="cannabis false_alarm" label="cannabis: false alarm" render="true"/>
      <category symbol="7" value="cannabis eradicated" label="cannabis: eradicated" render="true"/>
      <category symbol="8" value="" label="other (check review_status)" render="true"/>
    </categories>
    <symbols>
      <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,0,200,25"/>
            <Option name="style" type="QString" value="solid"/>
            <Option name="outline_color" type="QString" value="255,0,200,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.8"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="1" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,0,200,70"/>
            <Option name="style" type="QString" value="solid"/>
            <Option name="outline_color" type="QString" value="0,0,0,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="2" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="0,0,0,200"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="1.1"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="230,230,230,255"/>
            <Option name="outline_style" type="QString" value="dash"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="3" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,0,200,255"/>
            <Option name="style" type="QString" value="b_diagonal"/>
            <Option name="outline_color" type="QString" value="60,60,60,255"/>
            <Option name="outline_style" type="QString" value="dot"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="4" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,170,0,25"/>
            <Option name="style" type="QString" value="solid"/>
            <Option name="outline_color" type="QString" value="255,170,0,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.8"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="5" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,170,0,70"/>
            <Option name="style" type="QString" value="solid"/>
            <Option name="outline_color" type="QString" value="0,0,0,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="6" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="0,0,0,200"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="1.1"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="230,230,230,255"/>
            <Option name="outline_style" type="QString" value="dash"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="7" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,170,0,255"/>
            <Option name="style" type="QString" value="b_diagonal"/>
            <Option name="outline_color" type="QString" value="60,60,60,255"/>
            <Option name="outline_style" type="QString" value="dot"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
      <symbol name="8" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0"/>
            <Option name="style" type="QString" value="no"/>
            <Option name="outline_color" type="QString" value="255,0,0,255"/>
            <Option name="outline_style" type="QString" value="dot"/>
            <Option name="outline_width" type="QString" value="1.2"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="&quot;plot_id&quot; || ' ' || format_number(&quot;confidence&quot; * 100, 0) || '%'" isExpression="1" fontSize="10" fontSizeUnit="Point" textColor="0,0,0,255" textOpacity="1" fontWeight="75" namedStyle="Bold" fontFamily="Sans Serif">
        <text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="1" bufferNoFill="1" bufferJoinStyle="128"/>
      </text-style>
      <placement placement="1" centroidInside="1" centroidWhole="0" fitInPolygonOnly="0" priority="5" dist="0" distUnits="MM"/>
      <rendering drawLabels="1" obstacle="1" obstacleType="1" displayAll="0" upsidedownLabels="0" labelPerPart="0" mergeLines="0" minFeatureSize="0" limitNumLabels="0" maxNumLabels="2000" scaleVisibility="0" zIndex="0"/>
    </settings>
  </labeling>
  <fieldConfiguration>
    <field name="review_status" configurationFlags="None">
      <editWidget type="ValueMap">
        <config>
          <Option type="Map">
            <Option name="map" type="List">
              <Option type="Map">
                <Option name="unreviewed" type="QString" value="unreviewed"/>
              </Option>
              <Option type="Map">
                <Option name="confirmed" type="QString" value="confirmed"/>
              </Option>
              <Option type="Map">
                <Option name="false alarm" type="QString" value="false_alarm"/>
              </Option>
              <Option type="Map">
                <Option name="eradicated" type="QString" value="eradicated"/>
              </Option>
            </Option>
          </Option>
        </config>
      </editWidget>
    </field>
    <field name="reviewed_by" configurationFlags="None">
      <editWidget type="TextEdit">
        <config>
          <Option type="Map">
            <Option name="IsMultiline" type="bool" value="false"/>
            <Option name="UseHtml" type="bool" value="false"/>
          </Option>
        </config>
      </editWidget>
    </field>
    <field name="reviewed_at" configurationFlags="None">
      <editWidget type="TextEdit">
        <config>
          <Option type="Map">
            <Option name="IsMultiline" type="bool" value="false"/>
            <Option name="UseHtml" type="bool" value="false"/>
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
    <alias field="review_status" index="-1" name="Review status"/>
    <alias field="reviewed_by" index="-1" name="Reviewed by"/>
    <alias field="reviewed_at" index="-1" name="Reviewed at"/>
    <alias field="note" index="-1" name="Note"/>
  </aliases>
  <defaults>
    <default field="reviewed_by" expression="coalesce(nullif(@user_full_name, ''), &quot;reviewed_by&quot;, '')" applyOnUpdate="1"/>
    <default field="reviewed_at" expression="format_date(now(), 'yyyy-MM-dd hh:mm:ss')" applyOnUpdate="1"/>
  </defaults>
  <constraints>
    <constraint field="review_status" constraints="4" notnull_strength="0" unique_strength="0" exp_strength="1"/>
  </constraints>
  <constraintExpressions>
    <constraint field="review_status" exp="&quot;review_status&quot; IN ('unreviewed', 'confirmed', 'false_alarm', 'eradicated')" desc="one of unreviewed, confirmed, false_alarm, eradicated"/>
  </constraintExpressions>
  <editorlayout>tablayout</editorlayout>
  <attributeEditorForm>
    <attributeEditorContainer name="Review" columnCount="1" groupBox="0" showLabel="1" visibilityExpressionEnabled="0" visibilityExpression="">
      <attributeEditorField name="review_status" index="-1" showLabel="1"/>
      <attributeEditorField name="reviewed_by" index="-1" showLabel="1"/>
      <attributeEditorField name="reviewed_at" index="-1" showLabel="1"/>
      <attributeEditorField name="note" index="-1" showLabel="1"/>
    </attributeEditorContainer>
    <attributeEditorContainer name="Plot" columnCount="1" groupBox="0" showLabel="1" visibilityExpressionEnabled="0" visibilityExpression="">
      <attributeEditorField name="plot_id" index="-1" showLabel="1"/>
      <attributeEditorField name="class" index="-1" showLabel="1"/>
      <attributeEditorField name="confidence" index="-1" showLabel="1"/>
      <attributeEditorField name="max_confidence" index="-1" showLabel="1"/>
      <attributeEditorField name="area_m2" index="-1" showLabel="1"/>
      <attributeEditorField name="centroid_lon" index="-1" showLabel="1"/>
      <attributeEditorField name="centroid_lat" index="-1" showLabel="1"/>
      <attributeEditorField name="aoi" index="-1" showLabel="1"/>
      <attributeEditorField name="source" index="-1" showLabel="1"/>
      <attributeEditorField name="acquired" index="-1" showLabel="1"/>
      <attributeEditorField name="model" index="-1" showLabel="1"/>
    </attributeEditorContainer>
  </attributeEditorForm>
  <editable>
    <field name="fid" editable="0"/>
    <field name="plot_id" editable="0"/>
    <field name="class" editable="0"/>
    <field name="confidence" editable="0"/>
    <field name="max_confidence" editable="0"/>
    <field name="area_m2" editable="0"/>
    <field name="centroid_lon" editable="0"/>
    <field name="centroid_lat" editable="0"/>
    <field name="aoi" editable="0"/>
    <field name="source" editable="0"/>
    <field name="acquired" editable="0"/>
    <field name="model" editable="0"/>
    <field name="review_status" editable="1"/>
    <field name="reviewed_by" editable="1"/>
    <field name="reviewed_at" editable="1"/>
    <field name="note" editable="1"/>
  </editable>
  <previewExpression>concat("plot_id", ' ', "class", ' ', "review_status")</previewExpression>
  <mapTip>[% "plot_id" %] [% "class" %] [% format_number("confidence" * 100, 0) %]% [% format_number("area_m2", 0) %] m² [% "review_status" %]</mapTip>
  <layerGeometryType>2</layerGeometryType>
</qgis>
