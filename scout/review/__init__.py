"""The run folder in QGIS and QField, and the decisions that come back.

``add_styles`` (styles.py) stores QGIS styles in a run's GeoPackage; ``write_project``
(project.py) writes ``project.qgz``; ``review_run`` (decisions.py) reads decisions back and
writes ``review.json`` and training labels; ``track_runs`` (track.py) follows plots across
flights.  The ``scout qgis``, ``scout review`` and ``scout track`` commands are thin layers
over these.  Nothing is imported here, so ``scout detect`` importing ``add_styles`` stays light.
"""
