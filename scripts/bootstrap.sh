#!/usr/bin/env bash
# Install what the project needs on a Debian machine: the server binaries (apt, as root),
# a virtual environment in .venv/, and the package with its dev extras (pip).
# Idempotent: it only installs what is missing. Off root, it prints the exact apt command.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(prometheus prometheus-node-exporter prometheus-alertmanager chromium victoria-metrics)
BINARIES=(prometheus promtool prometheus-node-exporter prometheus-alertmanager amtool chromium victoria-metrics vmauth)

missing=()
for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${APT_PACKAGES[*]} (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian's postinst scripts would start system services (a system Prometheus on :9090, ...);
    # the project starts its own on free ports. Deny service starts during this install only.
    added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      added_policy=yes
    fi
    rc=0
    apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null || rc=$?
    [ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || { echo "bootstrap: apt-get install failed (exit $rc)" >&2; exit "$rc"; }
  else
    echo "bootstrap: missing ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get install -y ${APT_PACKAGES[*]}" >&2
    echo "(tests that need them are skipped off CI and fail on CI)" >&2
  fi
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python >= 3.11 is required ($PY is $("$PY" -V 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      apt-get install -y -qq python3-venv >/dev/null && "$PY" -m venv .venv
    else
      echo "bootstrap: cannot create a venv; install it with: sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
  fi
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing the package and its dependencies into .venv/"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
