#!/usr/bin/env bash
# Run every benchmark and keep its latest output in bench/results/<name>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
run() { echo "== $1"; "$PY" "bench/$1.py" | tee "bench/results/$1.txt"; }
run patrol
run heatmap
run imports
run reach
run radius
run noding
run indicators
run pages
run web_large
run load
run city  # a generated city through `gridmap run` (about 20 minutes on 2 cores)
"$PY" bench/register.py  # writes bench/results/register.txt itself
