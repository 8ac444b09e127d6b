"""DJI WPML mission files (a KMZ holding ``wpmz/template.kml`` and ``wpmz/waylines.wpml``).

Written after DJI's public WPML description (developer.dji.com, Cloud API > DJI WPML): the template
is a ``mapping2d`` (建图航拍) template with the area polygon, GSD height, overlaps and line direction,
which DJI Pilot 2 reads to show and edit the mission; the waylines file is the executable route
Pilot 2 would generate from it: one waypoint at each end of every line, the gimbal pointed straight
down at the first, and a photo every ``photo spacing`` metres from the first to the last
(``multipleDistance`` trigger, ``takePhoto``).  Coordinates are WGS-84 (the aircraft's GNSS); heights
are relative to the take-off point, so take off at about the height of the area (in steep terrain,
switch on Pilot 2's terrain follow before flying).
"""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
import zipfile

import numpy as np

from scout.flights.plan import DroneProfile, FlightSettings, Lawnmower

KML_NS = "http://www.opengis.net/kml/2.2"
WPML_NS = "http://www.dji.com/wpmz/1.0.2"


def _el(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    ns = WPML_NS if tag.startswith("wpml:") else KML_NS
    element = ET.SubElement(parent, f"{{{ns}}}{tag.removeprefix('wpml:')}")
    if text is not None:
        element.text = f"{text:g}" if isinstance(text, float) else str(text)
    return element


def _mission_config(doc: ET.Element, profile: DroneProfile, takeoff: tuple[float, float] | None = None) -> None:
    config = _el(doc, "wpml:missionConfig")
    _el(config, "wpml:flyToWaylineMode", "safely")
    _el(config, "wpml:finishAction", "goHome")
    _el(config, "wpml:exitOnRCLost", "executeLostAction")
    _el(config, "wpml:executeRCLostAction", "goBack")
    _el(config, "wpml:takeOffSecurityHeight", 20)
    if takeoff is not None:
        _el(config, "wpml:takeOffRefPoint", f"{takeoff[1]:.7f},{takeoff[0]:.7f},0")
    _el(config, "wpml:globalTransitionalSpeed", 10)
    drone = _el(config, "wpml:droneInfo")
    _el(drone, "wpml:droneEnumValue", profile.drone_enum)
    _el(drone, "wpml:droneSubEnumValue", profile.drone_sub_enum)
    payload = _el(config, "wpml:payloadInfo")
    _el(payload, "wpml:payloadEnumValue", profile.payload_enum)
    _el(payload, "wpml:payloadPositionIndex", 0)


def _document(name: str) -> tuple[ET.Element, ET.Element]:
    ET.register_namespace("", KML_NS)
    ET.register_namespace("wpml", WPML_NS)
    kml = ET.Element(f"{{{KML_NS}}}kml")
    doc = _el(kml, "Document")
    _el(doc, "name", name)
    return kml, doc


def template_kml(name: str, plan: Lawnmower, area_lonlat: np.ndarray, profile: DroneProfile, settings: FlightSettings, takeoff: tuple[float, float]) -> bytes:
    """``wpmz/template.kml``: a mapping2d template over the area (lon/lat ring, WGS-84)."""
    kml, doc = _document(name)
    now = int(time.time() * 1000)
    _el(doc, "wpml:author", "scout")
    _el(doc, "wpml:createTime", now)
    _el(doc, "wpml:updateTime", now)
    _mission_config(doc, profile, takeoff)
    folder = _el(doc, "Folder")
    _el(folder, "wpml:templateType", "mapping2d")
    _el(folder, "wpml:templateId", 0)
    system = _el(folder, "wpml:waylineCoordinateSysParam")
    _el(system, "wpml:coordinateMode", "WGS84")
    _el(system, "wpml:heightMode", "relativeToStartPoint")
    _el(system, "wpml:globalShootHeight", round(plan.altitude_m, 1))
    _el(folder, "wpml:autoFlightSpeed", round(plan.speed_ms, 1))
    mark = _el(folder, "Placemark")
    _el(mark, "wpml:caliFlightEnable", 0)
    _el(mark, "wpml:elevationOptimizeEnable", 0)
    _el(mark, "wpml:smartObliqueEnable", 0)
    _el(mark, "wpml:facadeWaylineEnable", 0)
    _el(mark, "wpml:isLookAtSceneSet", 0)
    _el(mark, "wpml:shootType", "distance")
    _el(mark, "wpml:direction", int(round(plan.direction_deg)) % 360)
    _el(mark, "wpml:margin", 0)
    overlap = _el(mark, "wpml:overlap")
    _el(overlap, "wpml:orthoCameraOverlapH", int(round(settings.front_overlap * 100)))
    _el(overlap, "wpml:orthoCameraOverlapW", int(round(settings.side_overlap * 100)))
    ring = _el(_el(_el(_el(mark, "Polygon"), "outerBoundaryIs"), "LinearRing"), "coordinates")
    ring.text = " ".join(f"{lon:.7f},{lat:.7f},0" for lon, lat in area_lonlat)
    _el(mark, "wpml:ellipsoidHeight", round(plan.altitude_m, 1))
    _el(mark, "wpml:height", round(plan.altitude_m, 1))
    payload = _el(folder, "wpml:payloadParam")
    _el(payload, "wpml:payloadPositionIndex", 0)
    _el(payload, "wpml:imageFormat", "visable")  # DJI's spelling
    return ET.tostring(kml, encoding="utf-8", xml_declaration=True)


def waylines_wpml(name: str, plan: Lawnmower, path_lonlat: np.ndarray, profile: DroneProfile) -> bytes:
    """``wpmz/waylines.wpml``: the executable route, a waypoint at each line end (lon/lat, WGS-84)."""
    kml, doc = _document(name)
    _mission_config(doc, profile)
    folder = _el(doc, "Folder")
    _el(folder, "wpml:templateId", 0)
    _el(folder, "wpml:executeHeightMode", "relativeToStartPoint")
    _el(folder, "wpml:waylineId", 0)
    _el(folder, "wpml:distance", round(plan.path.length, 1))
    _el(folder, "wpml:duration", round(plan.flight_s, 1))
    _el(folder, "wpml:autoFlightSpeed", round(plan.speed_ms, 1))
    last = len(path_lonlat) - 1
    for index, (lon, lat) in enumerate(path_lonlat):
        mark = _el(folder, "Placemark")
        _el(_el(mark, "Point"), "coordinates", f"{lon:.7f},{lat:.7f}")
        _el(mark, "wpml:index", index)
        _el(mark, "wpml:executeHeight", round(plan.altitude_m, 1))
        _el(mark, "wpml:waypointSpeed", round(plan.speed_ms, 1))
        heading = _el(mark, "wpml:waypointHeadingParam")
        _el(heading, "wpml:waypointHeadingMode", "followWayline")
        turn = _el(mark, "wpml:waypointTurnParam")
        _el(turn, "wpml:waypointTurnMode", "toPointAndStopWithDiscontinuityCurvature")
        _el(turn, "wpml:waypointTurnDampingDist", 0)
        _el(mark, "wpml:useStraightLine", 1)
        if index == 0:
            _gimbal_down(mark)
            _photos(mark, last, plan.photo_spacing_m)
    return ET.tostring(kml, encoding="utf-8", xml_declaration=True)


def _gimbal_down(mark: ET.Element) -> None:
    group = _el(mark, "wpml:actionGroup")
    _el(group, "wpml:actionGroupId", 0)
    _el(group, "wpml:actionGroupStartIndex", 0)
    _el(group, "wpml:actionGroupEndIndex", 0)
    _el(group, "wpml:actionGroupMode", "sequence")
    _el(_el(group, "wpml:actionTrigger"), "wpml:actionTriggerType", "reachPoint")
    action = _el(group, "wpml:action")
    _el(action, "wpml:actionId", 0)
    _el(action, "wpml:actionActuatorFunc", "gimbalRotate")
    params = _el(action, "wpml:actionActuatorFuncParam")
    for key, value in (("gimbalHeadingYawBase", "aircraft"), ("gimbalRotateMode", "absoluteAngle"), ("gimbalPitchRotateEnable", 1),
                       ("gimbalPitchRotateAngle", -90), ("gimbalRollRotateEnable", 0), ("gimbalRollRotateAngle", 0),
                       ("gimbalYawRotateEnable", 0), ("gimbalYawRotateAngle", 0), ("gimbalRotateTimeEnable", 0),
                       ("gimbalRotateTime", 0), ("payloadPositionIndex", 0)):
        _el(params, f"wpml:{key}", value)


def _photos(mark: ET.Element, last: int, spacing_m: float) -> None:
    group = _el(mark, "wpml:actionGroup")
    _el(group, "wpml:actionGroupId", 1)
    _el(group, "wpml:actionGroupStartIndex", 0)
    _el(group, "wpml:actionGroupEndIndex", last)
    _el(group, "wpml:actionGroupMode", "sequence")
    trigger = _el(group, "wpml:actionTrigger")
    _el(trigger, "wpml:actionTriggerType", "multipleDistance")
    _el(trigger, "wpml:actionTriggerParam", round(spacing_m, 2))
    action = _el(group, "wpml:action")
    _el(action, "wpml:actionId", 1)
    _el(action, "wpml:actionActuatorFunc", "takePhoto")
    params = _el(action, "wpml:actionActuatorFuncParam")
    _el(params, "wpml:payloadPositionIndex", 0)
    _el(params, "wpml:useGlobalPayloadLensIndex", 0)


def kmz(template: bytes, waylines: bytes) -> bytes:
    """The mission file DJI Pilot 2 imports: a ZIP with ``wpmz/template.kml`` and ``wpmz/waylines.wpml``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("wpmz/template.kml", template)
        zf.writestr("wpmz/waylines.wpml", waylines)
    return buffer.getvalue()
