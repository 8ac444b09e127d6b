"""What people read, in their language: Chinese (``zh``) or English (``en``).

County ground teams and reviewers read Chinese; their phones' map apps do too.  Everything a field
team or reviewer reads (task sheets, GPX/KML names and descriptions, QGIS field aliases and the
review drop-down, summaries) comes from :data:`STRINGS`; field *values* stay machine-stable English
keys (``confirmed``, ``poppy``), so files read the same whatever language wrote them.

The language is ``--lang`` when given, else the one stored in the run folder (``run.json`` key
``lang``), else the user's locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` -> zh).
"""

from __future__ import annotations

import locale
import os
from collections.abc import Mapping
from typing import Any, Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

# key -> (English, Chinese).  str.format fields are the same in both.
STRINGS: dict[str, tuple[str, str]] = {
    # classes and review statuses (values stay English; these are their labels)
    "poppy": ("poppy", "罂粟"),
    "cannabis": ("cannabis", "大麻"),
    "unknown": ("unknown crop", "作物未定"),  # a plot reviewers drew without saying which
    "unreviewed": ("unreviewed", "未核查"),
    "confirmed": ("confirmed", "确认"),
    "false_alarm": ("false alarm", "误报"),
    "eradicated": ("eradicated", "已铲除"),
    # task sheets
    "sheet_title": ("{title} — team {team}", "{title} — 第{team}组"),
    "depot": ("Depot", "出发点"),
    "depot_line": ("Depot (start and end of each day)", "出发点（每天出发与返回）"),
    "no_tasks": ("No tasks for this team.", "本组没有任务。"),
    "day_head": ("Day {day}: {stops} stops, {km:.1f} km, {hours:.1f} h", "第{day}天：{stops}个任务点，{km:.1f}公里，{hours:.1f}小时"),
    "col_stop": ("Stop", "站"),
    "col_plot": ("Plot", "地块"),
    "col_class": ("Class", "类别"),
    "col_conf": ("Conf.", "置信度"),
    "col_area": ("Area m²", "面积 m²"),
    "col_where": ("Lat, lon (WGS-84)", "纬度, 经度 (WGS-84)"),
    "col_nav": ("Navigate", "导航"),
    "col_eta": ("ETA", "预计到达"),
    "col_leg": ("Walk", "步行"),
    "col_decision": ("Decision", "核查结果"),
    "col_note": ("Note", "备注"),
    "task_row": ("Task {task} · {plots} plot(s) · {leg} from the last stop · ETA {eta}", "任务 {task} · {plots}个地块 · 距上一站 {leg} · 预计 {eta} 到达"),
    "back_to_depot": ("Back to the depot: {km:.2f} km walked in all", "返回出发点：全天共 {km:.2f} 公里"),
    "amap": ("AMap", "高德"),
    "baidu": ("Baidu", "百度"),
    "geo": ("Other map app", "其他地图"),
    "scan_amap": ("Scan: walk there in AMap", "扫码用高德步行导航"),
    "nav_note": (
        "Coordinates are WGS-84 (GPS, as in the GPX/KML files). The links open walking navigation in AMap (converted to GCJ-02), "
        "Baidu Maps (BD-09), or any app that reads geo: links (OsmAnd, Organic Maps; WGS-84). Outside mainland China nothing is converted.",
        "坐标为 WGS-84（GPS，与 GPX/KML 文件相同）。链接可打开高德地图步行导航（已转换为 GCJ-02）、百度地图（BD-09）"
        "或支持 geo: 链接的应用（OsmAnd、Organic Maps，WGS-84）。中国大陆以外不做转换。",
    ),
    "route_map": ("Route of day {day} over the run's imagery", "第{day}天路线（底图为本次影像）"),
    "no_imagery": ("no imagery here", "此处无影像"),
    "across": ("{m:,.0f} m across", "宽 {m:,.0f} 米"),
    "chip_caption": ("{plot}: {cls}, {area:,.0f} m², {conf:.0%}", "{plot}：{cls}，{area:,.0f} m²，{conf:.0%}"),
    "task_chip": ("Stop {seq} · task {task}", "第{seq}站 · 任务 {task}"),
    # GPX / KML
    "team_name": ("Scout team {team}", "Scout 第{team}组"),
    "team_day": ("Team {team} day {day}", "第{team}组 第{day}天"),
    "day_folder": ("Day {day}: {stops} stops, {km:.1f} km", "第{day}天：{stops}个任务点，{km:.1f}公里"),
    "route_desc": ("{stops} stops, {km:.1f} km, {hours:.1f} h", "{stops}个任务点，{km:.1f}公里，{hours:.1f}小时"),
    "route_line": ("Route day {day}", "第{day}天路线"),
    "task_desc": (
        "{classes}; {area:,.0f} m², confidence {conf:.2f}, priority {priority:g}; plots {plots}; day {day} stop {seq}, ETA {eta}. WGS-84",
        "{classes}；{area:,.0f} 平方米，置信度 {conf:.2f}，优先级 {priority:g}；地块 {plots}；第{day}天第{seq}站，预计 {eta} 到达。坐标 WGS-84",
    ),
    "depot_desc": ("Start and end of each day. WGS-84", "每天出发与返回的地点。坐标 WGS-84"),
    "wgs84_note": ("Coordinates in WGS-84 (GPS); import as is into Ovital, 2bulu or QField", "坐标为 WGS-84（GPS），可直接导入奥维、两步路或 QField"),
    # QGIS: field aliases and form tabs
    "f_plot_id": ("Plot ID", "地块编号"),
    "f_class": ("Class", "类别"),
    "f_confidence": ("Confidence", "置信度"),
    "f_max_confidence": ("Max confidence", "最高置信度"),
    "f_area_m2": ("Area (m²)", "面积（平方米）"),
    "f_centroid_lon": ("Centre lon", "中心经度"),
    "f_centroid_lat": ("Centre lat", "中心纬度"),
    "f_aoi": ("Area of interest", "监测区域"),
    "f_source": ("Image", "影像"),
    "f_acquired": ("Acquired", "拍摄日期"),
    "f_model": ("Model", "模型"),
    "f_review_status": ("Review status", "核查状态"),
    "f_reviewed_by": ("Reviewed by", "核查人"),
    "f_reviewed_at": ("Reviewed at", "核查时间"),
    "f_note": ("Note", "备注"),
    "f_drone_status": ("Drone check", "无人机核查结果"),
    "f_drone_plot_ids": ("Drone plots", "无人机发现的地块"),
    "f_drone_coverage": ("Drone coverage", "无人机覆盖比例"),
    "f_drone_run": ("Drone run", "无人机任务"),
    "f_position_error_m": ("Position error (m)", "位置误差（米）"),
    "f_status": ("Status", "状态"),
    "f_image": ("Photo", "照片"),
    "f_agl_m": ("Height above ground (m)", "离地高度（米）"),
    "f_gsd_m": ("Ground pixel (m)", "地面分辨率（米）"),
    "f_yaw_deg": ("Yaw (°)", "航向角（°）"),
    "f_pitch_deg": ("Pitch (°)", "俯仰角（°）"),
    "tab_review": ("Review", "核查"),
    "tab_plot": ("Plot", "地块"),
    "tab_history": ("History", "历史"),
    "tab_drone": ("Drone", "无人机核查"),
    # summaries
    "detect_summary": (
        "{plots} plots ({per}); flagged {flagged:,.1f} m² of {aoi_ha:,.2f} ha AOI{share}; {trust}; {tiles} tiles, {mp:,.1f} MP in {s:,.1f} s -> {out}",
        "{plots} 个地块（{per}）；监测区域 {aoi_ha:,.2f} 公顷中标记 {flagged:,.1f} 平方米{share}；{trust}；{tiles} 个瓦片，{mp:,.1f} 百万像素，用时 {s:,.1f} 秒 -> {out}",
    ),
    "detect_per_class": ("{n} {cls}", "{cls} {n} 个"),
    "detect_share": (" ({share:.2%} of the part imaged)", "（占已成像部分的 {share:.2%}）"),
    "warning": ("warning: {w}", "警告：{w}"),
    # the run's trust signal (run.json warnings, in the run's language)
    "trust_unknown": ("imagery vs training: unknown", "影像与训练影像的差异：未知"),
    "trust_unlike": ("imagery {far:.0%} unlike training", "{far:.0%} 的影像与训练影像不同"),
    "warn_unlike": (
        "{far:.0%} of this imagery is unlike anything {model} learned from (colour and texture): expect false alarms and missed plots; "
        "review a sample of plots and fine-tune before sending teams",
        "本次影像中 {far:.0%} 与 {model} 训练所用的影像不同（颜色和纹理）：可能出现误报和漏检；派出核查组前请先抽查部分地块并微调模型",
    ),
    "warn_flagged": (
        "{share:.0%} of the imaged AOI flagged: real plantings are small and scattered, so this imagery is probably unlike what {model} "
        "learned; review a sample of plots and fine-tune before sending teams",
        "已成像监测区域的 {share:.0%} 被标记：实际种植通常面积小且分散，本次影像很可能与 {model} 所学的不同；派出核查组前请先抽查部分地块并微调模型",
    ),
    "tasks_summary": (
        "{tasks} task(s): {planned} planned for {teams} team(s){unreachable}; {km:.1f} km in all -> {out}",
        "{tasks}个任务：{planned}个已排入 {teams} 个组{unreachable}；共 {km:.1f} 公里 -> {out}",
    ),
    "tasks_unreachable": (", {n} unreachable (see {path})", "，{n}个无法到达（见 {path}）"),
    "mission_name": ("Scout mission {mission}", "Scout 航测任务 {mission}"),
    "mission_desc": (
        "{drone}: {plots} suspected plot(s) ({ids}); {area:.1f} ha at {gsd:.1f} cm GSD, {altitude:.0f} m above take-off, {speed:.1f} m/s; "
        "about {minutes:.0f} min and {photos} photos. WGS-84",
        "{drone}：{plots} 个疑似地块（{ids}）；{area:.1f} 公顷，地面分辨率 {gsd:.1f} 厘米，相对起飞点高度 {altitude:.0f} 米，{speed:.1f} 米/秒；"
        "约 {minutes:.0f} 分钟，{photos} 张照片。坐标 WGS-84",
    ),
    "flights_summary": ("{missions} mission(s) over {plots} suspected plot(s): {minutes:.0f} min, {photos} photos in all -> {out}",
                        "{missions} 个航测任务，覆盖 {plots} 个疑似地块：共约 {minutes:.0f} 分钟，{photos} 张照片 -> {out}"),
    "flights_none": ("{run}: no suspected plots, so no drone missions -> {out}", "{run}：没有疑似地块，无需航测任务 -> {out}"),
    "rev_head": ("status       class      aoi              plots      area_m2", "状态         类别       区域             地块数    面积(m²)"),
    "rev_reviewed": ("reviewed {reviewed} of {plots} plots; precision {precision} from {real} real, {fa} false alarms",
                     "已核查 {reviewed}/{plots} 个地块；精确率 {precision}（属实 {real}，误报 {fa}）"),
    "rev_precision_na": ("n/a (no confirmed or false-alarm plots)", "无（没有确认或误报的地块）"),
    "rev_class_precision": ("  {cls}: precision {p}", "  {cls}：精确率 {p}"),
    "rev_confirmed_area": ("confirmed area {a:.0f} m² observed (of which eradicated {e:.0f})", "已确认面积 {a:.0f} 平方米（其中已铲除 {e:.0f}）"),
    "rev_estimate_na": ("estimated total confirmed area: n/a ({why})", "估计确认总面积：无（{why}）"),
    "rev_estimate": ("estimated total confirmed area {a:.0f} m² {ci}, design {design}{extra}", "估计确认总面积 {a:.0f} 平方米 {ci}，抽样设计 {design}{extra}"),
    "rev_assumed": ("  assumed: {why}", "  假设：{why}"),
    "rev_missed": ("missed by the model, drawn by reviewers: {n} plot(s) ({classes}){area}", "模型漏检、核查人员补画：{n} 个地块（{classes}）{area}"),
    "rev_missed_noclass": ("; {n} without class poppy or cannabis (left out of labels)", "；其中 {n} 个未填类别（不导出为训练样本）"),
}


def text(key: str, lang: Lang, /, **fields: Any) -> str:
    """The string ``key`` in ``lang``, formatted with ``fields``."""
    en, zh = STRINGS[key]
    return (zh if lang == "zh" else en).format(**fields) if fields else (zh if lang == "zh" else en)


def label(value: str, lang: Lang) -> str:
    """A machine value's label (``false_alarm`` -> 误报); values without one are shown as they are."""
    return text(value, lang) if value in STRINGS else value


def classes_label(classes: str, lang: Lang) -> str:
    """A comma-joined class list (``poppy,cannabis``) as people read it: ``罂粟+大麻``."""
    return "+".join(label(c, lang) for c in classes.split(",") if c)


def locale_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """zh when the user's locale is Chinese, else en (POSIX precedence: LC_ALL, LC_MESSAGES, LANG)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return "zh" if env[name].lower().startswith("zh") else "en"
    if environ is None:  # Windows has no LANG: ask the C library
        code = locale.getlocale()[0] or ""
        return "zh" if code.lower().startswith(("zh", "chinese")) else "en"
    return "en"


def resolve_lang(explicit: str | None, meta: Mapping[str, Any] | None = None) -> Lang:
    """``--lang`` when given, else the run's stored ``lang``, else the locale's."""
    for value in (explicit, (meta or {}).get("lang")):
        if value in LANGS:
            return value
    return locale_lang()
