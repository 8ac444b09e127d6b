"""Data contracts shared by every part of Scout (see ARCHITECTURE.md and README.md).

Outputs that users and other tools read are described here once: field names, their order
and types, and the names of the files and layers in a run folder (read and written only
through :mod:`scout.runfolder`).  Change them only on purpose.
"""

from __future__ import annotations

CLASSES: tuple[str, ...] = ("poppy", "cannabis")
"""Foreground classes, in model output order after background (index 0)."""

REVIEW_STATUSES: tuple[str, ...] = ("unreviewed", "confirmed", "false_alarm", "eradicated")


def review_status(value: object) -> object:
    """A status as a reviewer may have typed it outside the drop-down ('Confirmed', 'False alarm ')
    with case, spaces and dashes ignored; anything else (NULL too) is left for the check to refuse."""
    return "_".join(value.replace("-", " ").lower().split()) if isinstance(value, str) else value


TRACK_STATUSES: tuple[str, ...] = ("new", "recurring", "regrowth", "known_false_alarm")

TRACK_FIELDS: dict[str, str] = {
    "track_status": "str",  # one of TRACK_STATUSES
    "prev_plot_id": "str",  # the matched plot of the previous run, "" when new
    "prev_status": "str",  # its latest known decision (review_status, or its own prev_status when unreviewed)
    "prev_reviewed_by": "str",
    "prev_reviewed_at": "str",
    "prev_note": "str",
    "track_overlap": "float64",  # intersection / smaller plot's area, 0 when new
}
"""Columns that ``scout track`` appends to a run's plots layer, after PLOT_FIELDS."""

# name -> pandas dtype; order is the column order in every plots layer.
PLOT_FIELDS: dict[str, str] = {
    "plot_id": "str",
    "class": "str",
    "confidence": "float64",
    "max_confidence": "float64",
    "area_m2": "float64",
    "centroid_lon": "float64",
    "centroid_lat": "float64",
    "aoi": "str",
    "source": "str",
    "acquired": "str",
    "model": "str",
    "review_status": "str",
    "reviewed_by": "str",
    "reviewed_at": "str",
    "note": "str",
}

FRAME_PLOT_FIELDS: dict[str, str] = {
    "position_error_m": "float64",  # 2DRMS (about 95%) horizontal error of a plot placed from a raw photo (README)
}
"""Plot fields a run made from raw drone photos adds after PLOT_FIELDS."""

FRAME_FIELDS: dict[str, str] = {
    "image": "str",  # file name
    "agl_m": "float64",  # height above ground, metres
    "gsd_m": "float64",  # at the photo's centre, metres per pixel
    "yaw_deg": "float64",  # as used (clockwise from north)
    "pitch_deg": "float64",  # as recorded (a gimbal looking straight down: -90)
    "status": "str",  # used | skipped: reason
    "note": "str",  # e.g. a yaw turned 180° by the overlap check
}
"""The ``frames`` layer of a run made from raw drone photos: one footprint per photo."""

TASK_FIELDS: dict[str, str] = {
    "task_id": "str",
    "plot_ids": "str",  # comma-separated plot ids
    "team": "int64",
    "day": "int64",
    "sequence": "int64",
    "priority": "float64",
    "lon": "float64",
    "lat": "float64",
    "class": "str",  # the class of the largest area
    "classes": "str",  # every class among its plots, largest area first, comma-separated (poppy,cannabis)
    "confidence": "float64",
    "area_m2": "float64",
    "leg_m": "float64",
    "eta": "str",
    "status": "str",
}

ROUTE_FIELDS: dict[str, str] = {
    "team": "int64",
    "day": "int64",
    "distance_m": "float64",
    "duration_min": "float64",
    "stops": "int64",
}

TILE_FIELDS: dict[str, str] = {
    "tile_id": "str",
    "block": "int64",
    "row_off": "int64",
    "col_off": "int64",
    "size_px": "int64",
}

AOI_FIELDS: dict[str, str] = {
    "aoi": "str",
    "area_m2": "float64",
}

MISSED_FIELDS: dict[str, str] = {"class": "str", "note": "str", "reviewed_by": "str", "reviewed_at": "str"}
"""Fields the model did not flag, drawn by reviewers in QGIS/QField (``scout qgis`` adds the empty layer)."""

# Run folder: files and the layers of plots.gpkg (scout.runfolder reads and writes them).
PLOTS_GPKG = "plots.gpkg"
PLOTS_GEOJSON = "plots.geojson"
PROBABILITY_TIF = "probability.tif"
PHOTO_MOSAIC_TIF = "photo_mosaic.tif"  # raw photos only: what the run detected on, for review (scout.detection.mosaic)
RUN_JSON = "run.json"
REVIEW_JSON = "review.json"  # scout review
PROJECT_QGZ = "project.qgz"  # scout qgis
IMAGERY_DIR = "imagery"  # scout qgis --package copies the imagery in here, clipped to the AOIs
IMAGERY_JSON = "imagery.json"  # in IMAGERY_DIR: marks it as Scout's
TASKS_DIR = "tasks"  # scout tasks, unless --out
FLIGHTS_DIR = "flights"  # scout flights, unless --out
PLOTS_LAYER = "plots"
TILES_LAYER = "tiles"
AOI_LAYER = "aoi"
FRAMES_LAYER = "frames"  # runs from raw drone photos: one footprint per photo
MISSED_LAYER = "missed_plots"  # scout qgis adds it; reviewers draw the fields the model missed

# Polygons with a class field: training labels (scout review --labels writes them, scout train
# reads them) and truth plots (synthetic scenes, scout evaluate).
LABELS_LAYER = "labels"
TRUTH_LAYER = "truth"
LOOKALIKES_LAYER = "lookalikes"  # synthetic scenes: trees, banana, lawns drawn like targets, learned as background

# Survey folder (scout tasks writes it, scout qgis adds it to the project).
TASKS_GEOJSON = "tasks.geojson"
ROUTES_GEOJSON = "routes.geojson"
DEPOTS_GEOJSON = "depots.geojson"
