"""Links and QR codes that open walking navigation to a plot on a ground-team leader's phone.

Three links per stop, from the stop's WGS-84 position:

- AMap (Gaode), the app most county teams use: ``uri.amap.com/navigation`` with ``mode=walk``
  and ``coordinate=gaode``, so the point is shifted to GCJ-02 here (inside mainland China only,
  see :mod:`scout.chinacoords`); the page opens the app when installed (``callnative=1``).
- Baidu Maps: a marker at the BD-09 point (``coord_type=bd09ll``) whose page offers a route;
  outside mainland China the WGS-84 point goes as ``coord_type=wgs84``.
- ``geo:lat,lon`` (RFC 5870, WGS-84) for OsmAnd, Organic Maps and Android's map chooser.

The QR code holds the AMap link: scanned with the phone camera or WeChat, it opens walking
navigation in one step.  Everything is made offline (segno draws the QR as inline SVG).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import segno

from scout.chinacoords import in_china, wgs84_to_bd09, wgs84_to_gcj02

SOURCE = "scout"


@dataclass(frozen=True)
class NavLinks:
    """The three links of one stop; ``shifted`` is whether the apps' coordinates differ from GPS."""

    amap: str
    baidu: str
    geo: str
    shifted: bool


def nav_links(lon: float, lat: float, name: str) -> NavLinks:
    """Walking-navigation links to (lon, lat), WGS-84 degrees, for a stop called ``name``."""
    shifted = bool(in_china(lon, lat))
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    amap = "https://uri.amap.com/navigation?" + urlencode(
        {"to": f"{glon:.6f},{glat:.6f},{name}", "mode": "walk", "coordinate": "gaode", "callnative": "1", "src": SOURCE}, quote_via=quote, safe=","
    )
    blon, blat = (float(v) for v in wgs84_to_bd09(lon, lat))
    baidu = "https://api.map.baidu.com/marker?" + urlencode(
        {"location": f"{blat:.6f},{blon:.6f}", "title": name, "content": name, "output": "html",
         "coord_type": "bd09ll" if shifted else "wgs84", "src": f"webapp.{SOURCE}.fieldkit"},
        quote_via=quote, safe=",",
    )
    geo = f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})"
    return NavLinks(amap, baidu, geo, shifted)


def qr_svg(data: str, css_class: str = "qr") -> str:
    """An inline SVG QR code of ``data`` (error correction M: survives a crease or a smudge)."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buffer, kind="svg", xmldecl=False, svgns=False, svgclass=css_class, lineclass=None, omitsize=True, border=2
    )
    return buffer.getvalue().decode("ascii")
