#!/usr/bin/env bash
# Runs the CX platform on this machine: builds the services (release), starts
# each on 127.0.0.1 with its data under ./data and its log in ./data/logs, and
# prints where they are. Access control is on: the first start writes random
# tokens to ./data/tokens (mode 600) and a cxctl config with the admin token to
# ./data/cxctl.conf, and points ~/.config/cx/cxctl.conf at it unless that file
# is someone else's, so cxctl works with no flags.
#   deploy/run-local.sh          build and start (restarts what is running)
#   deploy/run-local.sh stop     stop them (SIGTERM: accepted calls finish)
#   deploy/run-local.sh status   cxctl health all
# Environment: CX_DATA_DIR (default ./data), CX_BUILD (release or debug).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${CX_DATA_DIR:-$root/data}
config=${CX_BUILD:-release}
services=(profiles loyalty journey feedback)
run="$data/run"

stop() {
  local stopped=0
  for s in "${services[@]}"; do
    pidfile="$run/$s.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      stopped=$((stopped + 1))
    fi
    rm -f "$pidfile"
  done
  echo "stopped $stopped service(s)"
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  status)
    if [ -f "$data/cxctl.conf" ]; then export CX_CONFIG="$data/cxctl.conf"; fi
    exec "$(swift build -c "$config" --show-bin-path)/cxctl" health all ;;
  start) ;;
  *) echo "usage: deploy/run-local.sh [start|stop|status]" >&2; exit 64 ;;
esac

bash scripts/install-deps.sh
echo "building ($config; the first build takes several minutes)..."
swift build -c "$config" >/dev/null
bin=$(swift build -c "$config" --show-bin-path)

[ -d "$run" ] && stop >/dev/null
mkdir -p "$data/logs" "$run"

# Tokens: one per role, made once and kept with the data.
tokens="$data/tokens"
token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
if [ ! -s "$tokens" ]; then
  (
    umask 077 # created private, never readable by others even for a moment
    {
      echo "# CX bearer tokens for this local platform: ROLE TOKEN. Keep private."
      echo "admin $(token)"
      echo "peer $(token)"
      echo "service $(token)"
      echo "read-only $(token)"
    } >"$tokens"
  )
elif ! grep -q '^peer ' "$tokens"; then
  # A tokens file from before the peer role: the services call each other with it.
  (umask 077 && echo "peer $(token)" >>"$tokens")
fi
chmod 600 "$tokens"
export CX_TOKENS_FILE="$tokens"
port=7101
for s in "${services[@]}"; do
  var="CX_$(echo "$s" | tr a-z A-Z)_ADDR"
  addr=${!var:-127.0.0.1:$port}
  rm -f "$run/$s.addr"
  nohup "$bin/cx-$s" --listen "$addr" --data-dir "$data" --address-file "$run/$s.addr" \
    >>"$data/logs/$s.log" 2>&1 &
  echo $! >"$run/$s.pid"
  port=$((port + 1))
done
for s in "${services[@]}"; do
  for _ in $(seq 1 100); do [ -s "$run/$s.addr" ] && break; sleep 0.1; done
  if [ ! -s "$run/$s.addr" ]; then
    echo "cx-$s did not start; its log:" >&2
    tail -n 20 "$data/logs/$s.log" >&2
    exit 1
  fi
done

# cxctl's config: the addresses and the admin token. ~/.config/cx/cxctl.conf
# is written only when it does not exist or was written here before.
marker="# written by deploy/run-local.sh"
conf="$data/cxctl.conf"
(
  umask 077 # it holds the admin token
  {
    echo "$marker for $data"
    echo "token = $(awk '$1 == "admin" { print $2; exit }' "$tokens")"
    for s in "${services[@]}"; do echo "$s = $(cat "$run/$s.addr")"; done
  } >"$conf"
)
chmod 600 "$conf"
user_conf="${CX_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/cx/cxctl.conf}"
if [ "$user_conf" -ef "$conf" ]; then
  conf_note="cxctl reads $conf (\$CX_CONFIG)"
elif [ ! -e "$user_conf" ] || head -n 1 "$user_conf" | grep -q "^$marker"; then
  mkdir -p "$(dirname "$user_conf")"
  (umask 077 && cp "$conf" "$user_conf")
  chmod 600 "$user_conf"
  conf_note="cxctl reads $user_conf (admin token and addresses)"
else
  conf_note="$user_conf is not ours, so it was left alone: run cxctl with CX_CONFIG=$conf"
fi

echo
for s in "${services[@]}"; do printf '  %-9s %s   log: %s\n' "$s" "$(cat "$run/$s.addr")" "$data/logs/$s.log"; done
echo
CX_CONFIG="$conf" "$bin/cxctl" health all || true
echo
echo "cxctl is $bin/cxctl; $conf_note."
echo "Tokens per role are in $tokens. Fill the platform with a small business: $bin/cxctl demo"
echo "Stop with: deploy/run-local.sh stop"
