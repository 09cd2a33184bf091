"""The demo cluster: a seeded simulation of a kube-prometheus-stack cluster on real servers."""
