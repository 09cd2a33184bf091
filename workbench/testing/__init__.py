"""Real-server helpers for the test suite and the demo: start and stop Prometheus, promtool
backfills (:mod:`.servers`) and the OpenMetrics writer (:mod:`.openmetrics`).

Nothing in the product imports this package; only the tests, the benchmarks and the demo do.
"""
