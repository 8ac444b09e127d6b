"""Synthetic drone and satellite scenes with known poppy and cannabis plots.

:mod:`scout.synth.layout` lays a scene out (fields, farmsteads, trees, tracks, plots and
look-alikes, in metres), :mod:`scout.synth.render` paints it into reflectance and through a
sensor, and :mod:`scout.synth.scene` writes the image, label raster and truth polygons.
:mod:`scout.synth.plantwise` is a second rendering family: single objects
(:class:`scout.synth.sprite.Sprite`) drawn plant by plant, to plant into real imagery.
"""

from scout.synth.scene import DEFAULT_GSD_M, KINDS, LABEL_NODATA, LOOKALIKE_COVERS, Scene, default_origin, make_scene

__all__ = ["DEFAULT_GSD_M", "KINDS", "LABEL_NODATA", "LOOKALIKE_COVERS", "Scene", "default_origin", "make_scene"]
