"""Read review decisions back from a run's GeoPackage (edited in QGIS or QField) and sum them up.

``summarise`` is pure (a plots frame in, a JSON-ready dict out); ``review_run`` reads the run
folder, writes ``RUN/review.json`` and, when asked, training labels.

Conventions: ``eradicated`` counts as confirmed (the plot was real); observed precision =
confirmed / (confirmed + false_alarm) over reviewed plots, with a 95 % Wilson interval.
The total real area is estimated from the reviewed plots as a sample of all flagged plots
(see :func:`scout.review.stats.ratio_estimate` for the assumed design).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from scout import schema
from scout.io import atomic_path, check_new_file, typed_frame, write_gpkg_layer, write_json
from scout.lang import Lang, label, resolve_lang, text
from scout.review.stats import Stratum, ratio_estimate, wilson_interval
from scout.runfolder import check_plots, detected, open_run, read_missed, read_plots, write_plots_geojson
from scout.schema import LABELS_LAYER

log = logging.getLogger(__name__)

REAL = ("confirmed", "eradicated")
SAMPLE_DESIGNS: dict[str, tuple[str, ...]] = {"srs": (), "class": ("class",), "aoi": ("aoi",), "class-aoi": ("class", "aoi")}
"""Sample designs: name -> plot fields whose values form the strata."""

LABEL_FIELDS: dict[str, str] = {
    "class": "str",  # plot class for positives, "background" for hard negatives
    "label_kind": "str",  # positive | hard_negative
    "plot_id": "str",
    "review_status": "str",
    "source": "str",
    "acquired": "str",
    "reviewed_by": "str",
    "reviewed_at": "str",
}
"""Columns of the ``labels`` layer that ``scout train --labels`` reads (polygons, run CRS)."""


def _precision(frame: pd.DataFrame) -> dict[str, Any]:
    real = int(frame["review_status"].isin(REAL).sum())
    false_alarm = int((frame["review_status"] == "false_alarm").sum())
    n = real + false_alarm
    ci = wilson_interval(real, n)
    return {"confirmed": real, "false_alarm": false_alarm, "precision": real / n if n else None, "ci95": list(ci) if ci else None}


def _design_text(design: str) -> str:
    strata = SAMPLE_DESIGNS[design]
    where = f"within each {' x '.join(strata)} stratum" if strata else "among all flagged plots"
    return (
        f"reviewed plots taken as a simple random sample without replacement {where}; "
        "separate ratio estimator on plot area; eradicated counts as confirmed; "
        "95% interval with Student's t, clipped to [observed confirmed area, flagged area]. "
        "Plots chosen by priority or convenience are not a random sample: the estimate is then biased."
    )


def summarise(plots: pd.DataFrame, design: str = "srs") -> dict[str, Any]:
    """Counts, precision and areas of review decisions (areas in m², from ``area_m2``)."""
    if design not in SAMPLE_DESIGNS:
        raise ValueError(f"unknown sample design {design!r}; choose one of {', '.join(SAMPLE_DESIGNS)}")
    reviewed = plots[plots["review_status"] != "unreviewed"]
    table = (
        plots.groupby(["review_status", "class", "aoi"], sort=True)
        .agg(plots=("plot_id", "size"), area_m2=("area_m2", "sum"))
        .reset_index()
    )
    observed_real = float(plots.loc[plots["review_status"].isin(REAL), "area_m2"].sum())
    strata_fields = list(SAMPLE_DESIGNS[design])
    groups = plots.groupby(strata_fields, sort=True) if strata_fields else [("all", plots)]
    strata = [
        Stratum(
            name=" / ".join(map(str, key)) if isinstance(key, tuple) else str(key),
            all_areas=group["area_m2"].tolist(),
            reviewed_areas=group.loc[group["review_status"] != "unreviewed", "area_m2"].tolist(),
            reviewed_real=group.loc[group["review_status"] != "unreviewed", "review_status"].isin(REAL).tolist(),
        )
        for key, group in groups
    ]
    estimate = ratio_estimate(strata, observed_real)
    return {
        "plots": len(plots),
        "reviewed": len(reviewed),
        "by_status": {s: int((plots["review_status"] == s).sum()) for s in schema.REVIEW_STATUSES},
        "table": [{**r, "plots": int(r["plots"]), "area_m2": round(float(r["area_m2"]), 2)} for r in table.to_dict("records")],
        "precision": {
            "definition": "(confirmed + eradicated) / (confirmed + eradicated + false_alarm), reviewed plots only; 95% Wilson interval",
            "all": _precision(plots),
            "by_class": {c: _precision(g) for c, g in plots.groupby("class", sort=True)},
            "by_aoi": {a: _precision(g) for a, g in plots.groupby("aoi", sort=True)},
        },
        "area_m2": {
            "flagged": round(float(plots["area_m2"].sum()), 2),
            "confirmed": round(float(plots.loc[plots["review_status"] == "confirmed", "area_m2"].sum()), 2),
            "eradicated": round(float(plots.loc[plots["review_status"] == "eradicated", "area_m2"].sum()), 2),
            "false_alarm": round(float(plots.loc[plots["review_status"] == "false_alarm", "area_m2"].sum()), 2),
            "unreviewed": round(float(plots.loc[plots["review_status"] == "unreviewed", "area_m2"].sum()), 2),
        },
        "estimate": {
            "design": design,
            "assumption": _design_text(design),
            "reviewed_fraction": round(len(reviewed) / len(plots), 4) if len(plots) else None,
            "confirmed_area_m2": None if estimate.total_m2 is None else round(estimate.total_m2, 2),
            "ci95_m2": None if estimate.ci95_m2 is None else [round(v, 2) for v in estimate.ci95_m2],
            "standard_error_m2": None if estimate.standard_error_m2 is None else round(estimate.standard_error_m2, 2),
            "missing_because": estimate.reason or None,
        },
    }


def summarise_missed(missed: pd.DataFrame) -> dict[str, Any]:
    """Fields the model missed, as reviewers drew them: counts and areas (m²) by class."""
    usable = missed["class"].isin(schema.CLASSES)
    return {
        "plots": len(missed),
        "by_class": {c: int((missed["class"] == c).sum()) for c in schema.CLASSES},
        "area_m2": round(float(missed.geometry.area.sum()), 2) if len(missed) and missed.crs and missed.crs.is_projected else None,
        "without_class": int((~usable).sum()),
        "from_layers": sorted(set(missed["layer"])),
    }


def labels_frame(plots: gpd.GeoDataFrame, missed: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Confirmed and eradicated plots as positives of their class; false alarms as hard negatives;
    fields the model missed (drawn by reviewers, with a class) as positives too."""
    chosen = plots[plots["review_status"].isin((*REAL, "false_alarm"))].copy()
    negative = chosen["review_status"] == "false_alarm"
    chosen["label_kind"] = negative.map({True: "hard_negative", False: "positive"})
    chosen.loc[negative, "class"] = "background"
    if missed is not None and len(missed):
        drawn = missed[missed["class"].isin(schema.CLASSES)].to_crs(plots.crs)
        drawn = drawn.assign(label_kind="positive", plot_id="", review_status="missed", source="", acquired="")
        chosen = gpd.GeoDataFrame(pd.concat([chosen, drawn], ignore_index=True), geometry="geometry", crs=plots.crs)
    return typed_frame(chosen, LABEL_FIELDS, plots.crs)


def write_labels(plots: gpd.GeoDataFrame, out: str | os.PathLike, overwrite: bool = False, missed: gpd.GeoDataFrame | None = None) -> int:
    """Write the ``labels`` layer to ``out`` (a new GeoPackage, atomically); return its row count."""
    out = Path(out)
    check_new_file(out, overwrite)
    labels = labels_frame(plots, missed)
    with atomic_path(out) as tmp:
        write_gpkg_layer(labels, tmp, LABELS_LAYER)
    return len(labels)


def review_run(run: str | os.PathLike, design: str = "srs", labels: str | os.PathLike | None = None, overwrite: bool = False,
               lang: str | None = None) -> dict[str, Any]:
    """Read a run's decisions, write ``RUN/review.json`` (and ``labels`` when given), rewrite
    ``plots.geojson`` from the reviewed layer; return the summary.

    Fields the model missed, drawn in the ``missed_plots`` layer or by hand in ``plots`` (no
    ``plot_id``), are reported and exported as positives, not refused.
    """
    folder = open_run(run)
    everything = read_plots(folder)
    missed = read_missed(folder, everything)
    plots = detected(everything)
    check_plots(plots, folder.plots_gpkg)
    summary = {
        "run": str(folder.path.resolve()),
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "lang": resolve_lang(lang, folder.meta),
        **summarise(plots, design),
        "missed": summarise_missed(missed.to_crs(plots.crs)),
    }
    if labels is not None:
        summary["labels"] = {"path": str(Path(labels).resolve()), "layer": LABELS_LAYER, "rows": write_labels(plots, labels, overwrite, missed)}
    write_plots_geojson(folder.path, plots)  # it carries the decisions too
    write_json(folder.review_json, summary)
    log.info("wrote %s", folder.review_json)
    return summary


def _fmt_ci(ci: list[float] | None, fmt: str) -> str:
    return f"[{format(ci[0], fmt)}, {format(ci[1], fmt)}]" if ci else "[n/a]"


def format_summary(summary: dict[str, Any], lang: Lang | None = None) -> str:
    """A short plain-text report of a summary: the status x class x AOI table, precision, areas, missed plots."""
    lang = lang or summary.get("lang", "en")
    lines = [text("rev_head", lang)]
    shown = (lambda v: label(v, lang)) if lang == "zh" else str  # English keeps the machine values
    lines += [f"{shown(r['review_status']):<12} {shown(r['class']):<10} {r['aoi'][:16]:<16} {r['plots']:>6} {r['area_m2']:>12.1f}" for r in summary["table"]]
    p = summary["precision"]["all"]
    precision = text("rev_precision_na", lang) if p["precision"] is None else f"{p['precision']:.2f} {_fmt_ci(p['ci95'], '.2f')}"
    lines.append(text("rev_reviewed", lang, reviewed=summary["reviewed"], plots=summary["plots"], precision=precision, real=p["confirmed"], fa=p["false_alarm"]))
    for cls, c in summary["precision"]["by_class"].items():
        if c["precision"] is not None:
            lines.append(text("rev_class_precision", lang, cls=label(cls, lang), p=f"{c['precision']:.2f} {_fmt_ci(c['ci95'], '.2f')}"))
    a, e = summary["area_m2"], summary["estimate"]
    lines.append(text("rev_confirmed_area", lang, a=a["confirmed"] + a["eradicated"], e=a["eradicated"]))
    if e["confirmed_area_m2"] is None:
        lines.append(text("rev_estimate_na", lang, why=e["missing_because"]))
    else:
        extra = f" ({e['missing_because']})" if e["missing_because"] else ""
        lines.append(text("rev_estimate", lang, a=e["confirmed_area_m2"], ci=_fmt_ci(e["ci95_m2"], ".0f"), design=e["design"], extra=extra))
    lines.append(text("rev_assumed", lang, why=e["assumption"]))
    missed = summary.get("missed") or {}
    if missed.get("plots"):
        classes = ", ".join(f"{label(c, lang)} {n}" for c, n in missed["by_class"].items() if n)
        area = f", {missed['area_m2']:.0f} m²" if missed.get("area_m2") is not None else ""
        line = text("rev_missed", lang, n=missed["plots"], classes=classes or "-", area=area)
        if missed["without_class"]:
            line += text("rev_missed_noclass", lang, n=missed["without_class"])
        lines.append(line)
    return "\n".join(lines)
