"""``scout qgis``, ``scout review``, ``scout track``: the run folder in QGIS/QField and back."""

from __future__ import annotations

from pathlib import Path

import click

from scout.commands.options import lang_option, overwrite_option, quiet_option, run_folder_argument
from scout.review.decisions import SAMPLE_DESIGNS, format_summary, review_run
from scout.review.project import write_project
from scout.review.track import MIN_OVERLAP, track_runs, verify_runs
from scout.review.verify import TOLERANCE_M, is_satellite_then_drone
from scout.runfolder import open_run


@click.command("qgis")
@run_folder_argument()
@click.option(
    "--tasks", "tasks_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Folder written by scout tasks: add its tasks and routes (inside RUN, e.g. RUN/survey, it travels with the folder).",
)
@click.option("--package", is_flag=True, help="Copy the imagery into RUN/imagery, clipped to the AOIs, so the run folder alone works offline on a tablet.")
@lang_option
@overwrite_option
@quiet_option
def qgis_cmd(run: Path, tasks_dir: Path | None, package: bool, lang: str | None, overwrite: bool) -> None:
    """Write RUN/project.qgz for QGIS and QField: imagery, probability heatmaps, AOIs, editable plots.

    Paths are relative, so the run folder (with the imagery, where it lies outside) can be
    copied to another computer or a phone and opened offline.
    """
    click.echo(write_project(run, tasks_dir, overwrite, lang, package))


@click.command("review")
@run_folder_argument()
@click.option("--labels", type=click.Path(dir_okay=False, path_type=Path), help="Also write training labels (layer 'labels') to this GeoPackage.")
@click.option(
    "--sample-design", type=click.Choice(list(SAMPLE_DESIGNS)), default="srs", show_default=True,
    help="How the reviewed plots were drawn from all flagged plots: a simple random sample overall, or within each class / AOI / class x AOI.",
)
@lang_option
@overwrite_option
@quiet_option
def review_cmd(run: Path, labels: Path | None, sample_design: str, lang: str | None, overwrite: bool) -> None:
    """Read review decisions made in QGIS or QField; write RUN/review.json, rewrite RUN/plots.geojson, print a summary.

    Fields the model missed, drawn in the missed_plots layer (or by hand in plots), are reported
    and written to --labels as positives.
    """
    click.echo(format_summary(review_run(run, sample_design, labels, overwrite, lang)))


@click.command("track")
@click.argument("old_run", type=click.Path(file_okay=False, path_type=Path))
@click.argument("new_run", type=click.Path(file_okay=False, path_type=Path))
@click.option("--min-overlap", type=click.FloatRange(0.0, 1.0, min_open=True), default=MIN_OVERLAP, show_default=True, help="Least intersection / smaller plot area to call two plots the same.")
@click.option("--tolerance-m", type=click.FloatRange(min=0), default=TOLERANCE_M, show_default=True, help="Satellite then drone: a drone plot this close confirms a satellite plot.")
@quiet_option
def track_cmd(old_run: Path, new_run: Path, min_overlap: float, tolerance_m: float) -> None:
    """Match NEW_RUN's plots to OLD_RUN's by overlap; write track_status and history into NEW_RUN.

    When OLD_RUN is a satellite run and NEW_RUN a drone run over it (its model's GSD at least twice
    as fine), say instead, per satellite plot in OLD_RUN, whether the drone flight confirmed it
    (a plot found), cleared it (covered, nothing found) or did not cover it.
    """
    if is_satellite_then_drone(open_run(old_run).meta, open_run(new_run).meta):
        counts = verify_runs(old_run, new_run, tolerance_m)
    else:
        counts = track_runs(old_run, new_run, min_overlap)
    click.echo("  ".join(f"{status} {n}" for status, n in counts.items()))


def register(group: click.Group) -> None:
    for command in (qgis_cmd, review_cmd, track_cmd):
        group.add_command(command)
