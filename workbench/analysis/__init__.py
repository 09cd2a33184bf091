"""Analysis: pure frame -> frame functions, no I/O.

Each package holds one subject; the ``fetch_*`` helpers that take a client and build the frames
an analysis needs sit beside it (they are the only functions here that touch the network, and
only through a source's client).

* :mod:`.nodes` — node-exporter USE method (public as ``workbench.nodes``);
* :mod:`.alerting` — alert-rule backtesting (public as ``workbench.alerting``);
* :mod:`.resources` — metrics-server usage joined with pod requests and limits.
"""
