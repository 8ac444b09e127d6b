"""``scout tasks``: plots of a run -> survey tasks, team routes, GPX/KML and printable sheets."""

from __future__ import annotations

from pathlib import Path

import click

from scout.commands.options import CommaList, LonLat, lang_option, overwrite_option, quiet_option, run_folder_argument
from scout.lang import text
from scout.schema import REVIEW_STATUSES
from scout.survey import RouteSettings, SurveySettings, TaskSettings, write_survey
from scout.survey.export import UNREACHABLE_CSV
from scout.survey.inputs import read_depots


def _statuses(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    bad = [v for v in value if v not in REVIEW_STATUSES]
    if bad or not value:
        raise click.BadParameter(f"{','.join(bad) or 'nothing'}: expected some of {','.join(REVIEW_STATUSES)}")
    return value


@click.command("tasks")
@run_folder_argument()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder [default: RUN/tasks].")
@click.option("--teams", type=click.IntRange(min=1), help="Number of teams [default: 1, or one per --depots point].")
@click.option("--depot", type=LonLat(), help="Start point shared by all teams, LON,LAT (WGS84).")
@click.option("--depots", "depots_file", type=click.Path(dir_okay=False, path_type=Path), help="Vector file of points: one start per team (ordered by a 'team' field if any).")
@click.option("--cluster-m", default=100.0, show_default=True, type=click.FloatRange(min=0), help="Plots within this walking distance (metres, edge to edge) form one task.")
@click.option("--max-task-plots", default=12, show_default=True, type=click.IntRange(min=1), help="Most plots in one task; larger clusters are split into compact parts.")
@click.option("--min-confidence", default=0.0, show_default=True, type=click.FloatRange(0, 1), help="Leave out plots below this confidence.")
@click.option("--status", "statuses", default="unreviewed,confirmed", show_default=True, type=CommaList(), callback=_statuses, help="Review statuses to visit.")
@click.option("--known-false-alarms", is_flag=True, help="Also visit plots that scout track marked known_false_alarm.")
@click.option("--day-hours", default=8.0, show_default=True, type=float, help="Work-day limit per team: travel plus time on site, hours.")
@click.option("--days", default=5, show_default=True, type=click.IntRange(min=1), help="Most days per team.")
@click.option("--speed-kmh", default=4.0, show_default=True, type=float, help="Travel speed, km/h.")
@click.option("--detour", default=1.4, show_default=True, type=float, help="Straight line × this factor where not on the road network.")
@click.option("--roads", type=click.Path(dir_okay=False, path_type=Path), help="Line layer of roads/tracks (any vector format): distances along it.")
@click.option("--service-min", default=10.0, show_default=True, type=click.FloatRange(min=0), help="Minutes on site per plot.")
@click.option("--service-min-per-ha", default=30.0, show_default=True, type=click.FloatRange(min=0), help="Extra minutes on site per hectare of plot.")
@click.option("--start", "day_start", default="08:00", show_default=True, help="Clock time the teams leave the depot, HH:MM (for ETAs).")
@click.option("--time-limit", type=click.FloatRange(min=0.1), help="Solver time, seconds [default: 2 + 0.1 per task, at most 60].")
@click.option("--max-depot-km", default=50.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Refuse depots farther than this from every AOI.")
@lang_option
@overwrite_option
@quiet_option
def tasks_cmd(run: Path, out_dir: Path | None, teams: int | None, depot, depots_file: Path | None, cluster_m: float, max_task_plots: int,
                  min_confidence: float, statuses: tuple[str, ...], known_false_alarms: bool, day_hours: float, days: int,
                  speed_kmh: float, detour: float, roads: Path | None, service_min: float, service_min_per_ha: float,
                  day_start: str, time_limit: float | None, max_depot_km: float, lang: str | None, overwrite: bool) -> None:
    """Plan survey tasks and team routes for the plots of RUN; write GeoJSON, GPX, KML and HTML sheets.

    \b
    Priority of a plot (higher first when not everything fits):
      p = 100 × w_class × c × area / (area + 1000 m²) × h_track
      w_class: poppy 1.0, cannabis 0.8
      c: confidence (1.0 once confirmed)
      h_track (from scout track): regrowth 1.5, recurring 1.25, new 1.0,
        known_false_alarm 0.1 (left out unless --known-false-alarms)
    A task's priority is the sum over its plots.  Time on site, minutes:
      --service-min × plots + --service-min-per-ha × hectares.
    Every task is routed or listed in unreachable.csv with the reason.
    """
    if (depot is None) == (depots_file is None):
        raise click.UsageError("give exactly one of --depot LON,LAT or --depots FILE")
    depots = (depot,) if depots_file is None else read_depots(depots_file)
    settings = SurveySettings(
        tasks=TaskSettings(cluster_m=cluster_m, max_plots=max_task_plots, min_confidence=min_confidence, statuses=statuses, known_false_alarms=known_false_alarms),
        routes=RouteSettings(
            teams=teams or (len(depots) if depots_file else 1), depots=depots, day_hours=day_hours, days=days, speed_kmh=speed_kmh,
            detour=detour, service_base_min=service_min, service_min_per_ha=service_min_per_ha, day_start=day_start,
            time_limit_s=time_limit, max_depot_km=max_depot_km,
        ),
        roads=roads,
        lang=lang,
    )
    summary = write_survey(run, out_dir, settings, overwrite=overwrite)
    unreachable = text("tasks_unreachable", summary.lang, n=summary.unreachable, path=summary.out_dir / UNREACHABLE_CSV) if summary.unreachable else ""
    click.echo(text("tasks_summary", summary.lang, tasks=summary.tasks, planned=summary.planned, teams=summary.teams_used,
                    unreachable=unreachable, km=summary.distance_m / 1000, out=summary.out_dir))


def register(group: click.Group) -> None:
    group.add_command(tasks_cmd)
