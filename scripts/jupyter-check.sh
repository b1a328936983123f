#!/usr/bin/env bash
# Executes notebooks in Jupyter's .net-csharp kernel (nbclient), as a reader who opens them in Jupyter would, and fails
# on any error cell. Default: every notebook at ci scale. Needs scripts/setup.sh first (kernel registered, library built).
#   scripts/jupyter-check.sh [notebooks...]      (BOOSTFORMER_SCALE defaults to ci; BOOSTFORMER_DATA to ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
export BOOSTFORMER_SCALE="${BOOSTFORMER_SCALE:-ci}"
export BOOSTFORMER_DATA="${BOOSTFORMER_DATA:-$(cd .. && pwd)/shared/data}"
if [ "$#" -eq 0 ]; then set -- notebooks/*.ipynb; fi
exec /usr/bin/python3 scripts/jupyter-check.py --output out/jupyter "$@"
