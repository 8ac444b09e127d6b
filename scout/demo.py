"""``scout demo``: a synthetic drone flight with known plots, detected end to end.

The flight lies over the sample townships in the checkout's ``aoi/`` folder (see its README),
which the demo detects in, as a county office's township boundaries."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from scout.detection import RunSummary, detect
from scout.detection.trust import statement
from scout.errors import InputError, OutputError
from scout.folders import Inventory, check_replaceable
from scout.labels import read_truth
from scout.runfolder import check_replaceable_run, open_run, read_plots
from scout.synth import default_origin, make_scene

log = logging.getLogger(__name__)

SAMPLE_AOIS = Path(__file__).resolve().parents[1] / "aoi"
"""The checkout's sample AOIs (like its ``models/``)."""
DEMO_AOI = "townships.geojson"
"""The sample townships the demo detects in; its copy in the scene folder marks a demo scene."""
DEMO_SCENE = Inventory("demo scene", DEMO_AOI, "scout-demo-scene/1", files=(DEMO_AOI, "drone-*.tif", "drone-*-labels.tif", "drone-*-truth.gpkg"),
                       legacy=(("type", "features"),))
"""The demo's scene folder, known by its townships (a copy of the sample AOI's GeoJSON, which
carries no marker) and Scout's file names: ``--overwrite`` replaces only such a folder."""
DEMO_ORIGIN = default_origin(7)
"""Top-left corner of every demo flight (UTM 47N metres): inside the sample townships, whatever the seed."""


@dataclass(frozen=True)
class DemoResult:
    image: Path
    truth: Path
    run: RunSummary
    planted: dict[str, int]
    found: dict[str, int]  # planted plots hit by a detected plot of the same class

    def report(self) -> str:
        lines = [
            f"scene:  {self.image}",
            f"truth:  {self.truth}",
            f"run:    {self.run.out_dir}/ (plots.gpkg, plots.geojson, probability.tif, run.json)",
            f"model:  {self.run.model}",
        ]
        for cls, n in self.planted.items():
            lines.append(f"{cls:9s} found {self.found[cls]} of {n} planted; {self.run.plots_by_class.get(cls, 0)} plots flagged")
        share = self.run.trust.get("flagged_share", 0.0)  # of the AOI where there is imagery
        lines.append(f"trust:  {share:.2%} of the imaged AOI flagged; {statement(self.run.trust)}")
        lines += [f"warning: {w}" for w in self.run.warnings]
        lines.append(f"time:   {self.run.seconds:.1f} s for {self.run.megapixels:.1f} MP at model GSD")
        return "\n".join(lines)


def found_per_class(plots: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> dict[str, int]:
    """Planted plots touched by a detected plot of the same class."""
    out = {}
    plots = plots.to_crs(truth.crs)
    for cls in sorted(set(truth["class"])):
        t = truth[truth["class"] == cls]
        p = plots[plots["class"] == cls]
        hit = gpd.sjoin(t, p[["geometry"]], predicate="intersects", how="inner").index.unique() if len(p) else []
        out[cls] = len(hit)
    return out


def run_demo(out_dir: str | Path, seed: int = 7, size_px: int = 2048, overwrite: bool = False) -> DemoResult:
    """Make ``out_dir/scene`` (a 5 cm drone scene over the sample townships) and detect into ``out_dir/run``."""
    townships = SAMPLE_AOIS / DEMO_AOI
    if not townships.is_file():
        raise InputError(f"{townships}: missing; scout demo runs from a Scout checkout, which holds the sample AOIs in aoi/")
    out_dir = Path(out_dir)
    run_dir = out_dir / "run"
    if run_dir.exists() and not overwrite:
        raise OutputError(f"{run_dir}: demo run exists; use --overwrite to run it again")
    scene_dir = out_dir / "scene"
    check_replaceable(scene_dir, DEMO_SCENE)
    check_replaceable_run(run_dir)
    if overwrite:
        shutil.rmtree(scene_dir, ignore_errors=True)
    log.info("making a synthetic %d x %d px drone scene (seed %d)...", size_px, size_px, seed)
    scene = make_scene(scene_dir, seed=seed, kind="drone", size_px=size_px, boundary=True, origin=DEMO_ORIGIN)
    aoi = scene_dir / DEMO_AOI
    shutil.copyfile(townships, aoi)  # the scene folder holds what a rerun of scout detect needs
    summary = detect([scene.image_path], run_dir, aoi=aoi, overwrite=overwrite)
    plots = read_plots(open_run(run_dir))
    truth = read_truth(scene.truth_path, scene.crs)
    planted = {c: int(n) for c, n in scene.n_plots.items()}
    found = found_per_class(plots, truth)
    return DemoResult(scene.image_path, scene.truth_path, summary, planted, {c: found.get(c, 0) for c in planted})
