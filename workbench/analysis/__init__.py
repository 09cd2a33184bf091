"""Analysis: pure frame -> frame functions, no I/O.

Each package holds one subject; the ``fetch_*`` helpers that take a client and build the frames
an analysis needs sit beside it (they are the only functions here that touch the network, and
only through a source's client).

Each is public under a short name (``from workbench import nodes``):

* :mod:`.nodes` — node-exporter USE method (``workbench.nodes``);
* :mod:`.alerting` — alert-rule backtesting, rule sets, incidents (``workbench.alerting``);
* :mod:`.capacity` — requests, limits, usage, right-sizing, forecasts (``workbench.capacity``);
* :mod:`.alert_history` — what fired, how often, for how long (``workbench.alert_history``);
* :mod:`.alertmanager` — Alertmanager routing and notification simulation
  (``workbench.alertmanager``);
* :mod:`.events` — kwatch-style workload events (``workbench.events``).
"""
