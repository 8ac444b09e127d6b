"""Task sheets: one row per plot, navigation per stop, markers apart, and in a real headless browser:
no horizontal overflow at 400 and 800 px, an A4 portrait PDF with nothing clipped, QR codes that scan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pytest

from browser import Page, needs_browser
from scout.chinacoords import gcj02_to_wgs84
from scout.survey import SurveySettings, TaskSettings, write_survey
from scout.survey.routing import RouteSettings
from scout.survey.sheets import LABEL_R, MARKER_R, spread_markers
from test_survey_export import DEPOT, make_run

A4_CONTENT_PX = round((210 - 20) / 25.4 * 96)  # A4 less the sheet's 10 mm margins, CSS px


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> dict[str, Path]:
    """A run with scattered plots, a task mixing classes and a dense cluster beside the depot; sheets in zh and en."""
    root = tmp_path_factory.mktemp("sheets")
    rng = np.random.default_rng(3)
    rows = [{"x": float(x), "y": float(y), "side_m": float(s)} for (x, y), s in zip(rng.uniform(200, 2800, (14, 2)), rng.uniform(20, 60, 14))]
    rows[1]["class"] = "cannabis"
    rows.append({"x": rows[0]["x"] + 50, "y": rows[0]["y"], "class": "cannabis", "side_m": 20.0})  # a task of two plots, two classes
    rows += [{"x": 1500 + 15 * k, "y": 1520 + 5 * k, "side_m": 8.0} for k in range(5)]  # five stops within 80 m of the depot
    run = make_run(root / "run", rows)
    out = {}
    for lang in ("zh", "en"):
        settings = SurveySettings(TaskSettings(cluster_m=30), RouteSettings(depots=((DEPOT.x, DEPOT.y),), time_limit_s=0.5), lang=lang)
        out[lang] = write_survey(run, root / f"survey-{lang}", settings).out_dir
    return out


def test_markers_never_overlap_even_when_stops_coincide() -> None:
    points = np.array([[100, 100]] * 6 + [[103, 101], [300, 200], [640, 440]], float)
    markers = spread_markers(points, MARKER_R, fixed=np.array([[100, 100]]))
    gaps = np.hypot(*(markers[:, None] - markers[None]).transpose(2, 0, 1))[np.triu_indices(len(points), 1)]
    assert gaps.min() >= 2 * MARKER_R
    assert np.hypot(*(markers - [100, 100]).T).min() >= 2 * MARKER_R  # clear of the depot
    assert (markers >= MARKER_R).all() and (markers[:, 0] <= 640 - MARKER_R).all() and (markers[:, 1] <= 440 - MARKER_R).all()
    assert np.allclose(markers[7], [300, 200])  # a stop with room stays where it is


def test_sheet_has_a_row_per_plot_grouped_by_task_and_navigation_per_stop(survey: dict[str, Path]) -> None:
    out = survey["en"]
    tasks = gpd.read_file(out / "tasks.geojson").sort_values(["day", "sequence"])
    page = (out / "team_01.html").read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    bodies = re.findall(r'<tbody class="task">(.*?)</tbody>', page, re.S)
    assert len(bodies) == len(tasks)
    for body, (_, task) in zip(bodies, tasks.iterrows()):
        assert re.findall(r'data-plot="([^"]+)"', body) == task["plot_ids"].split(",")  # one row per plot, not one string
        amap = re.search(r'href="(https://uri\.amap\.com/navigation\?[^"]+)"', body).group(1).replace("&amp;", "&")
        query = {k: v[0] for k, v in parse_qs(urlsplit(amap).query).items()}
        assert query["mode"] == "walk" and query["coordinate"] == "gaode"
        glon, glat, name = query["to"].split(",")
        assert name == task["task_id"]
        wlon, wlat = gcj02_to_wgs84(float(glon), float(glat))
        assert abs(wlon - task["lon"]) < 2e-6 and abs(wlat - task["lat"]) < 2e-6
        assert body.count('<svg viewBox') == 1 and "geo:" in body and "api.map.baidu.com" in body
    mixed = tasks[tasks["classes"] == "poppy,cannabis"].iloc[0]
    body = bodies[list(tasks["task_id"]).index(mixed["task_id"])]
    assert "poppy" in body and "cannabis" in body  # the class of each plot
    chips = re.findall(r'<figure class="chip" data-task="(T\d+)">(.*?)</figure>', page, re.S)
    assert [t for t, _ in chips] == list(tasks["task_id"])
    for (_, svg), (_, task) in zip(chips, tasks.iterrows()):
        assert re.findall(r'class="plot-label" fill="(#[0-9a-f]+)">([^<]+)<', svg) == [
            ({"poppy": "#ff00c8", "cannabis": "#ffaa00"}[c], p) for p, c in zip(task["plot_ids"].split(","), _classes(out, task["plot_ids"]))
        ]
        spots = np.array([(float(x), float(y)) for x, y in re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="plot-label"', svg)])
        if len(spots) > 1:  # the labels of a cluster of plots do not pile up
            assert np.hypot(*(spots[:, None] - spots[None]).transpose(2, 0, 1))[np.triu_indices(len(spots), 1)].min() >= 2 * LABEL_R - 0.15
    assert page.count("data:image/jpeg;base64,") == len(tasks) + tasks["day"].nunique()  # chips and route maps over imagery
    markers = np.array([(float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="11" class="stop"', page)])
    assert len(markers) == len(tasks)
    gaps = np.hypot(*(markers[:, None] - markers[None]).transpose(2, 0, 1))[np.triu_indices(len(markers), 1)]
    assert gaps.min() >= 2 * MARKER_R - 0.15  # rounded to 0.1 px
    assert "<script" not in page and "http://" not in page  # offline: only the navigation links go out, when tapped


def _classes(out: Path, plot_ids: str) -> list[str]:
    plots = gpd.read_file(out.parent / "run" / "plots.gpkg", layer="plots").set_index("plot_id")
    return [plots.loc[p, "class"] for p in plot_ids.split(",")]


def test_chinese_sheet_reads_chinese_and_keeps_values(survey: dict[str, Path]) -> None:
    page = (survey["zh"] / "team_01.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    for words in ("第1组", "出发点", "核查结果", "备注", "☐ 确认", "☐ 误报", "☐ 已铲除", "罂粟", "大麻", "高德", "百度", "WGS-84"):
        assert words in page, words


@needs_browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sheet_in_a_browser_fits_phones_screens_and_a4(survey: dict[str, Path], lang: str, tmp_path: Path) -> None:
    sheet = survey[lang] / "team_01.html"
    plot_ids = ",".join(gpd.read_file(survey[lang] / "tasks.geojson")["plot_ids"]).split(",")
    artifacts = Path(os.environ.get("SCOUT_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    page = Page()
    try:
        for width in (400, 800):
            page.open(sheet, width)
            report = page.overflow()
            assert report["scroll"] <= report["viewport"] and report["count"] == 0, report
            shot = page.screenshot(artifacts / f"sheet-{lang}-{width}.png")
            assert shot.stat().st_size > 20_000
        if shutil.which("zbarimg"):  # the QR codes scan to the AMap links beside them (seen as a phone camera would, ~3 px a module)
            shots = page.qr_shots(tmp_path, count=3)
            assert len(shots) == 3
            for href, shot in shots:
                scanned = subprocess.run(["zbarimg", "-q", "--raw", str(shot)], capture_output=True, text=True).stdout.strip()
                assert scanned == href and href.startswith("https://uri.amap.com/navigation?")
        page.open(sheet, A4_CONTENT_PX, media="print")  # laid out as printed: nothing past the A4 text width
        report = page.overflow()
        assert report["scroll"] <= report["viewport"] and report["count"] == 0, report
        pdf = page.pdf(artifacts / f"sheet-{lang}.pdf")
    finally:
        page.close()
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        width, height = (float(v) for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
        assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1, info  # A4 portrait
        assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 2
    if shutil.which("pdftotext"):
        printed = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert all(p in printed for p in plot_ids)
        decision, note, eradicated = ("核查结果", "备注", "已铲除") if lang == "zh" else ("Decision", "Note", "eradicated")
        assert decision in printed and note in printed and printed.count(eradicated) >= len(plot_ids)
    if lang == "zh" and shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
        assert re.search(r"WenQuanYi|Noto\w*CJK|SourceHan|Droid\w*Fallback", fonts), fonts  # a font that prints Chinese is embedded
