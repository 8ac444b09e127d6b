"""The run folder in QGIS and QField, and the decisions that come back.

``write_project`` (project.py) writes ``project.qgz``; ``review_run`` (decisions.py) reads
decisions back and writes ``review.json`` and training labels; ``track_runs`` (track.py)
follows plots across flights.  The ``scout qgis``, ``scout review`` and ``scout track``
commands are thin layers over these.  The styles their layers carry are
:mod:`scout.styles`'s; the run folder is read and written through :mod:`scout.runfolder`.
"""
