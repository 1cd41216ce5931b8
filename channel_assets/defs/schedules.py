"""Every schedule of the code location, in one list: definitions.py registers it, and the app's status reads
the states of exactly these (defs.requests.schedule_states)."""

from channel_assets.defs.cleanup.schedules import cleanup_schedules
from channel_assets.defs.refresh.schedules import refresh_schedules
from channel_assets.defs.reporting.schedules import daily_freshness_report

all_schedules = [*refresh_schedules, daily_freshness_report, *cleanup_schedules]
