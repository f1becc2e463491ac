"""ipywidgets views of jobkit: live queues, retry policies, simulations, a fake clock.

>>> from jobkit.widgets import Dashboard, RetryTimeline, SimulationExplorer, ClockControl

Every widget is an ipywidgets container (a cell ending in one displays it) and a thin
view: the data it shows comes from `jobkit.frames`. Importing this package imports
ipywidgets and pandas (matplotlib only when a plot is drawn); nothing else in jobkit
imports them at module level. Needs `pip install 'jobkit[notebook]'`.
"""

from jobkit.widgets.clock_control import ClockControl
from jobkit.widgets.dashboard import Dashboard
from jobkit.widgets.retry_timeline import RetryTimeline, parse_delays
from jobkit.widgets.simulation_explorer import SimulationExplorer

__all__ = ["ClockControl", "Dashboard", "RetryTimeline", "SimulationExplorer", "parse_delays"]
