#!/usr/bin/env bash
# Run the test suite as two pytest processes side by side, one per database backend
# (`--backend`, tests/conftest.py): each builds only its own backend's demo and databases, and
# the two use both cores. SpatiaLite's run also holds the tests that use no database backend.
# Lines are prefixed with the backend. Usage: scripts/test-backends.sh PYTHON [pytest args...];
# exits non-zero if either run fails.
set -uo pipefail

python="$1"
shift

pids=()
for backend in spatialite postgis; do
    ( "$python" -m pytest --backend "$backend" "$@" 2>&1 | sed -u "s/^/[$backend] /"
      exit "${PIPESTATUS[0]}" ) &
    pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
exit "$status"
