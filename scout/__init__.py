"""Scout: find suspected opium-poppy and cannabis plots in aerial imagery."""

__version__ = "0.1.0"
