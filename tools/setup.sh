#!/usr/bin/env bash
# Create .venv and install resolvekit with every extra and the dev tools.
# CPU torch is installed first: a plain `pip install sentence-transformers` would otherwise pull
# a multi-GB CUDA build of torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[all,dev]"
bash tools/setup_browser.sh
echo "resolvekit installed in $(pwd)/.venv"
