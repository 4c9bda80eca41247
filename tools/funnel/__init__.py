"""The conversion funnel: how far each conversation got towards a purchase, and where it stopped.

`stages` reads each conversation's furthest stage from the database, `report` aggregates them for
operators, `significance` compares prompt variants, `search` finds conversations for review.
"""

from tools.funnel.report import Period, funnel_report
from tools.funnel.stages import PURCHASE_STATUSES, STAGES, Stage, furthest_stages

__all__ = ["PURCHASE_STATUSES", "STAGES", "Period", "Stage", "funnel_report", "furthest_stages"]
