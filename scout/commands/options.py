"""Click options shared by several commands (one place, like rasterio's rio/options.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:  # the group set library loggers (rasterio's GDAL warnings...) to WARNING: quiet them too
        logging.captureWarnings(True)  # and Python warnings (rasterio's NotGeoreferencedWarning...)
        for name in ("", "scout", "rasterio", "pyogrio", "fiona", "distributed", "py.warnings"):
            logging.getLogger(name).setLevel(logging.ERROR)
    return value


quiet_option = click.option(
    "-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet, help="No progress or logs; errors only."
)
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), help="Language of what people read (sheets, GPX/KML, QGIS forms, summaries) [default: the run's, else the locale's]."
)


def run_folder_argument(name: str = "run") -> Callable[[F], F]:
    return click.argument(name, type=click.Path(file_okay=False, path_type=Path))


class LonLat(click.ParamType):
    """``LON,LAT`` in WGS84 degrees."""

    name = "LON,LAT"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            lon, lat = (float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not LON,LAT (e.g. 100.52,22.01)", param, ctx)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            self.fail(f"{value!r} is outside lon -180..180 / lat -90..90", param, ctx)
        return (lon, lat)


class Threshold(click.ParamType):
    """``0.6`` (every class) or ``poppy=0.6``."""

    name = "[CLASS=]P"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        cls, _, p = str(value).rpartition("=")
        try:
            prob = float(p)
        except ValueError:
            self.fail(f"{value!r}: expected a probability like 0.6 or poppy=0.6", param, ctx)
        if not 0 <= prob <= 1:
            self.fail(f"{value!r}: probability must be from 0 to 1", param, ctx)
        return (cls.strip() or "*", prob)


class BandList(click.ParamType):
    """``3,2,1``: image band numbers feeding the model's bands, in the model's order."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return tuple(int(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r}: expected band numbers like 3,2,1", param, ctx)


class CommaList(click.ParamType):
    """``a,b,c`` -> tuple of stripped strings."""

    name = "A,B,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        return tuple(v.strip() for v in str(value).split(",") if v.strip())
