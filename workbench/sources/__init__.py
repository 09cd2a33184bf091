"""Sources: every byte that comes from the network or a local tool enters here.

* :mod:`.prometheus` — :class:`~workbench.Prometheus`: the HTTP API client, its transport
  (auth, retries, timeouts), config and profiles, the settled-window query cache and the fast
  response decoder that turns bodies into frames of the :mod:`workbench.frames` schema.
* :mod:`.kubernetes` — :class:`~workbench.MetricsServer`: kubeconfig resolution, the
  metrics.k8s.io and core/v1 reads through the ``kubernetes`` client, their decoders and
  ``kubectl top``'s text tables.

Sources import only the base modules (errors, time, quantities, :mod:`workbench.frames`); they
never import analysis, charts, reports or the demo (an import contract checked in CI).
"""
