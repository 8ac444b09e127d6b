"""Scout: find suspected opium-poppy and cannabis plots in aerial imagery."""

__version__ = "0.1.0"

import os as _os

# GDAL reads its block-cache limit once, at first use; its default (5% of RAM) would let the
# cache alone outgrow Scout's memory budget.  A user's own setting wins.
_os.environ.setdefault("GDAL_CACHEMAX", "64")
