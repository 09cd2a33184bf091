"""Kubernetes client configuration: kubeconfig files (``$KUBECONFIG`` lists, contexts) and
the in-cluster service account, resolved into a ``kubernetes.client.ApiClient``.

Errors name the file and the context and never echo file content (a kubeconfig holds secrets).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..._errors import ConfigError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = ["in_cluster_client", "kubeconfig_client"]


def kubeconfig_client(
    path: str | os.PathLike[str] | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[ApiClient, str]:
    """An ``ApiClient`` and its context name from a kubeconfig.

    ``path`` or ``$KUBECONFIG`` (``:``-separated list) or ``~/.kube/config``; ``context`` or the
    file's ``current-context``.

    Raises
    ------
    ConfigError
        No kubeconfig at any of those places, an unknown context (the message lists the known
        ones), or a file the client cannot load.
    """
    import yaml
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    env = os.environ if environ is None else environ
    source = "path="
    if path is None:
        path = env.get("KUBECONFIG") or "~/.kube/config"
        source = "$KUBECONFIG" if env.get("KUBECONFIG") else "the default location"
    paths = [str(Path(p).expanduser()) for p in str(path).split(os.pathsep) if p]
    existing = [p for p in paths if os.path.isfile(p)]
    if not existing:
        msg = (
            f"No kubeconfig found at {', '.join(paths) or repr(path)} (from {source}). Fix: "
            "pass path= to the file, set KUBECONFIG, or inside a pod use "
            "MetricsServer.in_cluster()."
        )
        raise ConfigError(msg)
    joined = os.pathsep.join(existing)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=joined)
    except (k8s_config.ConfigException, OSError, ValueError, TypeError,
            yaml.YAMLError) as exc:
        if isinstance(exc, yaml.YAMLError):  # never echo file content: it may hold secrets
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            detail = f"not valid YAML{where}"
        else:
            detail = str(exc)
        msg = f"Cannot read the kubeconfig {joined}: {detail}. Fix: check the file is " \
              "valid YAML with clusters, users and contexts (`kubectl config view`)."
        raise ConfigError(msg) from None
    names = [c.get("name") for c in contexts or []]
    if context is not None and context not in names:
        msg = (
            f"The kubeconfig {joined} has no context {context!r} (known: "
            f"{', '.join(map(str, names)) or 'none'}). Fix: pass one of those, or check "
            "`kubectl config get-contexts`."
        )
        raise ConfigError(msg)
    if context is None:
        if not current:
            msg = (f"The kubeconfig {joined} sets no current-context (known: "
                   f"{', '.join(map(str, names)) or 'none'}). Fix: pass context=..., or run "
                   "`kubectl config use-context NAME`.")
            raise ConfigError(msg)
        context = current["name"]
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(config_file=joined, context=context,
                                    client_configuration=configuration,
                                    persist_config=False)
    except (k8s_config.ConfigException, OSError, ValueError, TypeError) as exc:
        msg = f"Cannot load context {context!r} from {joined}: {exc}. Fix: check its " \
              "cluster server URL and user credentials (`kubectl --context " \
              f"{context} get --raw /version`)."
        raise ConfigError(msg) from None
    return k8s_client.ApiClient(configuration), context


def in_cluster_client(
    environ: Mapping[str, str] | None,
    token_path: str | os.PathLike[str],
    ca_path: str | os.PathLike[str],
) -> ApiClient:
    """An ``ApiClient`` from the pod's service account (token re-read as it rotates)."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.incluster_config import InClusterConfigLoader

    env = dict(os.environ if environ is None else environ)
    configuration = k8s_client.Configuration()
    try:
        InClusterConfigLoader(token_filename=str(token_path), cert_filename=str(ca_path),
                              environ=env).load_and_set(configuration)
    except k8s_config.ConfigException as exc:
        msg = (
            f"In-cluster configuration failed: {exc}. Fix: run inside a pod with a service "
            "account (KUBERNETES_SERVICE_HOST/PORT set and the token mounted at "
            f"{token_path}), or use MetricsServer.from_kubeconfig()."
        )
        raise ConfigError(msg) from None
    return k8s_client.ApiClient(configuration)
