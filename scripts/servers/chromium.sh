#!/usr/bin/env bash
# A private headless Chromium for tests (Debian's chromium), reachable over the DevTools protocol on loopback.
#
#   scripts/servers/chromium.sh start DIR   # prints the DevTools URL; DIR/cdp_url holds it (an existing DIR
#                                           # is stopped and emptied first)
#   scripts/servers/chromium.sh stop DIR    # stops the browser by its process id
#
# The browser runs as `nobody` when started by root (as the caller otherwise), with its profile under DIR,
# its DevTools port chosen free by itself (--remote-debugging-port=0, read back from DevToolsActivePort) on
# 127.0.0.1 only. Chromium's sandbox needs user namespaces, which containers often refuse: it runs without.
set -euo pipefail

cmd=${1:-}
T=${2:-}
[[ -n $cmd && -n $T ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

RUN=()
if [[ $(id -u) -eq 0 ]]; then RUN=(runuser -u nobody --); fi

stop() {
  [[ -f $T/pid ]] || return 0
  pid=$(cat "$T/pid")
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$T/pid"
}

if [[ $cmd == stop ]]; then
  stop
  exit 0
fi
[[ $cmd == start ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
command -v chromium >/dev/null || { echo "chromium.sh: chromium is missing (scripts/setup.sh installs it)" >&2; exit 1; }
if [[ -d $T ]]; then
  stop
  rm -rf "$T"
fi
mkdir -p "$T/profile" "$T/home"
[[ ${#RUN[@]} -eq 0 ]] || chown -R nobody:nogroup "$T"
# The shell writes its id, then becomes the browser: the id is the browser's.
"${RUN[@]}" env HOME="$T/home" XDG_CONFIG_HOME="$T/home" XDG_CACHE_HOME="$T/home" \
  sh -c 'echo $$ >"$0/pid"; exec chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --disable-extensions --user-data-dir="$0/profile" \
    --remote-debugging-address=127.0.0.1 --remote-debugging-port=0 about:blank' "$T" \
  >"$T/chromium.log" 2>&1 </dev/null &
for _ in $(seq 1 300); do
  [[ -s $T/profile/DevToolsActivePort ]] && break
  sleep 0.1
done
if [[ ! -s $T/profile/DevToolsActivePort ]]; then
  echo "chromium.sh: the browser did not start (see $T/chromium.log)" >&2
  stop
  exit 1
fi
port=$(head -1 "$T/profile/DevToolsActivePort")
echo "http://127.0.0.1:$port" >"$T/cdp_url"
echo "http://127.0.0.1:$port"
