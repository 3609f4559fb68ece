#!/bin/sh
# Checks that the Debian packages relearn builds, tests and benchmarks with are
# installed. As root it installs the missing ones; otherwise it prints the exact
# apt-get line and fails.
set -eu
PKGS="build-essential clang pkg-config libxgboost-dev liblinear-dev liblapacke-dev liblapack-dev
libblas-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev
libcmocka-dev libclang-rt-14-dev sqlite3 curl openssl valgrind wrk
python3 python3-pytest python3-requests python3-numpy python3-pandas python3-sklearn
python3-xgboost python3-flask gunicorn python3-fastapi uvicorn"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "relearn: installing missing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
else
    echo "relearn: missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
