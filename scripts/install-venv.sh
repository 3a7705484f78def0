#!/bin/sh
# Create a virtual environment and install feedwatch into it: the one install step that both
# `make` (for development and tests) and the Dockerfile (for deployment) run.
#   scripts/install-venv.sh VENV EXTRAS [editable]
#   make:       scripts/install-venv.sh .venv dev editable
#   Dockerfile: scripts/install-venv.sh /opt/venv postgres
set -eu
venv="$1"
extras="$2"
mode="${3:-}"
python="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
if [ "$mode" = "editable" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
else
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir ".[$extras]"
fi
