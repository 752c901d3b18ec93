#!/usr/bin/env bash
# Check (and, where allowed, install) the Debian packages gridmap needs:
#   PostgreSQL server binaries + PostGIS  (tests/pgserver.py, migrations)
#   libsqlite3-mod-spatialite            (the embedded default database)
#   chromium + chromium-driver           (headless browser tests)
#   python3-venv                         (make venv)
#
# Idempotent: when everything is present it prints one line, "system packages: ok".
# Missing packages are installed with apt-get (after apt-get update) when running as
# root or when passwordless sudo works; otherwise the exact command to run is printed
# on stdout and the script exits 1.
#
# Environment:
#   GRIDMAP_SKIP_SYSTEM_DEPS=1   do nothing (for non-Debian machines that provide the
#                                equivalents some other way)
set -euo pipefail

if [[ "${GRIDMAP_SKIP_SYSTEM_DEPS:-}" == 1 ]]; then
    echo "system packages: check skipped (GRIDMAP_SKIP_SYSTEM_DEPS=1)"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: this is not a Debian-like system (no dpkg-query/apt-get)." >&2
    echo "system-deps: provide PostgreSQL with PostGIS 3, SpatiaLite (mod_spatialite)," >&2
    echo "system-deps: Chromium and python3 venv support, then set GRIDMAP_SKIP_SYSTEM_DEPS=1." >&2
    exit 1
fi

# Highest PostgreSQL major whose server binaries are installed (Debian layout), or "".
installed_pg_major() {
    local d major best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
        major="$(basename "$(dirname "$d")")"
        [[ "$major" =~ ^[0-9]+$ ]] || continue
        if [[ -z "$best" ]] || (( major > best )); then
            best="$major"
        fi
    done
    echo "$best"
}

# PostgreSQL major that the "postgresql" meta package would install (e.g. 15 on bookworm).
default_pg_major() {
    local major=""
    major="$(apt-cache depends postgresql 2>/dev/null \
        | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n1)" || true
    if [[ -z "$major" && -r /usr/share/postgresql-common/supported_versions ]]; then
        major="$(/usr/share/postgresql-common/supported_versions 2>/dev/null | tail -n1)" || true
    fi
    echo "${major:-15}"
}

is_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
    [[ "$status" == *" ok installed" ]]
}

wanted_packages() {
    local major need_server=0
    major="$(installed_pg_major)"
    if [[ -z "$major" ]]; then
        need_server=1
        major="$(default_pg_major)"
    fi
    if (( need_server )); then
        echo postgresql
    fi
    echo "postgresql-${major}-postgis-3"
    echo libsqlite3-mod-spatialite
    echo chromium
    echo chromium-driver
    echo python3-venv
    echo fonts-wqy-zenhei   # CJK glyphs for browser screenshots and printed reports
}

missing_packages() {
    local pkg
    while read -r pkg; do
        if [[ "$pkg" == postgresql ]]; then
            echo "$pkg"   # only listed when no server binaries exist at all
        elif ! is_installed "$pkg"; then
            echo "$pkg"
        fi
    done < <(wanted_packages)
}

mapfile -t missing < <(missing_packages)
if (( ${#missing[@]} == 0 )); then
    echo "system packages: ok"
    exit 0
fi

SUDO=()
if (( EUID != 0 )); then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "system-deps: missing Debian packages: ${missing[*]}" >&2
        echo "system-deps: not root and passwordless sudo is unavailable; run:" >&2
        echo "sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "system-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -q "${missing[@]}"

# When the server itself was just installed, the PostGIS package name depends on the
# major that apt picked: re-check and install whatever is still missing.
mapfile -t still_missing < <(missing_packages | grep -vx postgresql || true)
if [[ -z "$(installed_pg_major)" ]]; then
    echo "system-deps: postgresql was installed but no initdb/pg_ctl found under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
if (( ${#still_missing[@]} > 0 )); then
    "${SUDO[@]}" apt-get install -y -q "${still_missing[@]}"
fi
mapfile -t final_missing < <(missing_packages)
if (( ${#final_missing[@]} > 0 )); then
    echo "system-deps: still missing after install: ${final_missing[*]}" >&2
    exit 1
fi
echo "system packages: ok (installed ${missing[*]} ${still_missing[*]:-})"
