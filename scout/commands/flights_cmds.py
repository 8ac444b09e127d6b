"""``scout flights``: the suspected plots of a satellite run as DJI drone mapping missions."""

from __future__ import annotations

from pathlib import Path

import click

from scout.commands.options import lang_option, overwrite_option, quiet_option, run_folder_argument
from scout.flights import DRONES, FlightSettings, write_flights
from scout.lang import text


@click.command("flights")
@run_folder_argument("sat_run")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder [default: SAT_RUN/flights].")
@click.option("--gsd", "gsd_m", default=0.03, show_default=True, type=float, help="Ground sampling distance to fly for, metres per pixel (sets the altitude).")
@click.option("--drone", default="mavic3e", show_default=True, help=f"Drone profile: {', '.join(DRONES)}.")
@click.option("--front-overlap", default=0.8, show_default=True, type=float, help="Overlap of photos along a line (0-0.95).")
@click.option("--side-overlap", default=0.7, show_default=True, type=float, help="Overlap of neighbouring lines (0-0.95).")
@click.option("--margin-m", default=30.0, show_default=True, type=click.FloatRange(min=0), help="Metres mapped around the plots.")
@click.option("--cluster-m", default=300.0, show_default=True, type=click.FloatRange(min=0), help="Plots within this distance share a mission.")
@lang_option
@overwrite_option
@quiet_option
def flights_cmd(sat_run: Path, out_dir: Path | None, gsd_m: float, drone: str, front_overlap: float, side_overlap: float,
                    margin_m: float, cluster_m: float, lang: str | None, overwrite: bool) -> None:
    """Group the suspected plots of SAT_RUN into drone mapping missions of one battery each.

    Writes per mission a DJI WPML KMZ (wpmz/template.kml + wpmz/waylines.wpml, for DJI Pilot 2)
    and a KML polygon, and flight_areas.geojson with estimated flight minutes and photo counts.
    Then fly, run scout detect on the photos, and scout track SAT_RUN DRONE_RUN.
    """
    settings = FlightSettings(gsd_m=gsd_m, drone=drone, front_overlap=front_overlap, side_overlap=side_overlap, margin_m=margin_m, cluster_m=cluster_m)
    summary = write_flights(sat_run, out_dir, settings, overwrite=overwrite, lang=lang)
    if summary.missions:
        click.echo(text("flights_summary", summary.lang, missions=summary.missions, plots=summary.plots, minutes=summary.flight_min,
                        photos=summary.photos, out=summary.out_dir))
    else:
        click.echo(text("flights_none", summary.lang, run=sat_run, out=summary.out_dir))


def register(group: click.Group) -> None:
    group.add_command(flights_cmd)
