"""Survey planning: plots -> tasks -> team routes -> GeoJSON, GPX, KML and printable sheets.

``make_tasks`` (tasks.py), ``plan_routes`` (routing.py) and ``write_survey`` (export.py) are the
library API; ``scout tasks`` is a thin command over ``write_survey``.
"""

from scout.survey.export import SurveySettings, SurveySummary, write_survey
from scout.survey.routing import RoutePlan, RouteSettings, plan_routes
from scout.survey.tasks import TaskSettings, make_tasks

__all__ = [
    "RoutePlan",
    "RouteSettings",
    "SurveySettings",
    "SurveySummary",
    "TaskSettings",
    "make_tasks",
    "plan_routes",
    "write_survey",
]
