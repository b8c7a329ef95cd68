#!/usr/bin/env bash
# Installs what building and testing CX needs and a fresh Debian machine lacks.
# Idempotent: does nothing when everything is there.
#   scripts/install-deps.sh          build dependencies (zlib, SQLite headers)
#   scripts/install-deps.sh --test   also python3's protobuf and grpcio-tools,
#                                    for the example client written from proto-spec/
set -euo pipefail

missing=()
for pkg in zlib1g-dev libsqlite3-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ] && command -v python3 >/dev/null 2>&1; then
  if ! python3 -c 'import google.protobuf, grpc_tools' 2>/dev/null; then
    echo "install-deps: installing python packages protobuf and grpcio-tools" >&2
    python3 -m pip install -q --disable-pip-version-check protobuf grpcio-tools 2>&1 | grep -v "WARNING: Running pip as the 'root' user" >&2 || true
  fi
fi
