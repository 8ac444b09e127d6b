"""Language strings and the navigation links and QR codes on task sheets."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pyproj import Geod

from scout.chinacoords import bd09_to_wgs84, gcj02_to_wgs84
from scout.lang import STRINGS, classes_label, label, locale_lang, resolve_lang, text
from scout.survey.navigation import nav_links, qr_svg

GEOD = Geod(ellps="WGS84")


def test_every_string_has_both_languages_with_the_same_fields() -> None:
    import string

    for key, (en, zh) in STRINGS.items():
        assert en and zh, key
        fields = [{f for _, f, _, _ in string.Formatter().parse(s) if f} for s in (en, zh)]
        assert fields[0] == fields[1], key


def test_labels_keep_values_english() -> None:
    assert [label(s, "zh") for s in ("unreviewed", "confirmed", "false_alarm", "eradicated")] == ["未核查", "确认", "误报", "已铲除"]
    assert label("false_alarm", "en") == "false alarm" and label("something", "zh") == "something"
    assert classes_label("poppy,cannabis", "zh") == "罂粟+大麻" and classes_label("poppy", "en") == "poppy"
    assert text("day_head", "zh", day=2, stops=3, km=1.25, hours=4.0) == "第2天：3个任务点，1.2公里，4.0小时"


@pytest.mark.parametrize(
    ("env", "lang"),
    [({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"), ({"LC_ALL": "zh_TW", "LANG": "en_US"}, "zh"),
     ({"LC_ALL": "C", "LANG": "zh_CN"}, "en"), ({}, "en")],
)
def test_locale_lang(env: dict, lang: str) -> None:
    assert locale_lang(env) == lang


def test_resolve_lang_prefers_the_option_then_the_run() -> None:
    assert resolve_lang("en", {"lang": "zh"}) == "en"
    assert resolve_lang(None, {"lang": "zh"}) == "zh"
    assert resolve_lang(None, {"lang": "fr"}) in ("zh", "en")


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_links_in_china_are_shifted_for_each_app() -> None:
    lon, lat = 100.7952, 22.0081  # a field near Jinghong, Yunnan
    links = nav_links(lon, lat, "T001 P0003")
    assert links.shifted
    amap = _query(links.amap)
    assert links.amap.startswith("https://uri.amap.com/navigation?")
    assert amap["mode"] == "walk" and amap["coordinate"] == "gaode" and amap["callnative"] == "1"
    glon, glat, name = amap["to"].split(",")
    assert name == "T001 P0003"
    back = gcj02_to_wgs84(float(glon), float(glat))
    assert GEOD.inv(*back, lon, lat)[2] < 0.2  # 6 decimals: within 0.1 m of the GPS point
    assert GEOD.inv(float(glon), float(glat), lon, lat)[2] > 100  # and GCJ-02 really moved it
    baidu = _query(links.baidu)
    assert baidu["coord_type"] == "bd09ll" and baidu["output"] == "html" and baidu["src"]
    blat, blon = (float(v) for v in baidu["location"].split(","))
    assert GEOD.inv(*bd09_to_wgs84(blon, blat), lon, lat)[2] < 0.2
    assert links.geo == "geo:22.008100,100.795200?q=22.008100,100.795200(T001%20P0003)"


def test_links_outside_china_are_not_shifted() -> None:
    lon, lat = 98.366, 20.795  # Shan State, Myanmar
    links = nav_links(lon, lat, "T002")
    assert not links.shifted
    assert _query(links.amap)["to"] == "98.366000,20.795000,T002"
    baidu = _query(links.baidu)
    assert baidu["location"] == "20.795000,98.366000" and baidu["coord_type"] == "wgs84"


def test_qr_svg_is_inline_svg() -> None:
    svg = qr_svg(nav_links(100.7952, 22.0081, "T001").amap)
    assert svg.startswith('<svg viewBox="0 0 ') and 'class="qr"' in svg and "<path" in svg
    assert "xmlns" not in svg and "<?xml" not in svg  # inline in HTML
