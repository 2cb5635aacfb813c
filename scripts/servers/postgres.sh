#!/usr/bin/env bash
# A private PostgreSQL 15 for tests, on loopback, in a directory of its own (Debian's postgresql-15).
#
#   scripts/servers/postgres.sh start DIR   # prints the URL; DIR/url holds it (an existing DIR is stopped
#                                           # and emptied first)
#   scripts/servers/postgres.sh stop DIR    # stops the server by its process id
#   scripts/servers/postgres.sh restart DIR # stops it and starts it again on the same port with its data
#
# The server runs as `nobody` when started by root (as the caller otherwise), listens on 127.0.0.1 only, on
# a port chosen free, with its socket in DIR, and trusts the local user `dim`. The database `dimstream` is
# created. TLS is on for clients that ask for it (DIR/ca.crt verifies the server). fsync is off: the data is a test's, and the tests that kill the server do so to the server, not
# to the machine. Starting takes about 2 s.
set -euo pipefail

cmd=${1:-}
T=${2:-}
[[ -n $cmd && -n $T ]] || { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }

BIN=/usr/lib/postgresql/15/bin
RUN=()
if [[ $(id -u) -eq 0 ]]; then RUN=(runuser -u nobody --); fi

stop() {
  [[ -f $T/data/postmaster.pid ]] || return 0
  pid=$(head -1 "$T/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || true # fast shutdown
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

start_server() {
  "${RUN[@]}" "$BIN/pg_ctl" -D "$T/data" -l "$T/postgres.log" -w -t 60 \
    -o "-k $T -c listen_addresses=127.0.0.1 -p $1 -c fsync=off -c synchronous_commit=off -c max_connections=200 -c ssl=on" \
    start >/dev/null || { echo "postgres.sh: the server did not start (see $T/postgres.log)" >&2; exit 1; }
}

if [[ $cmd == stop ]]; then
  stop
  exit 0
fi
if [[ $cmd == restart ]]; then
  [[ -f $T/port ]] || { echo "postgres.sh: nothing to restart in $T" >&2; exit 1; }
  stop
  start_server "$(cat "$T/port")"
  exit 0
fi
[[ $cmd == start ]] || { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
for tool in "$BIN/initdb" "$BIN/pg_ctl" psql python3; do
  command -v "$tool" >/dev/null || { echo "postgres.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

if [[ -d $T ]]; then
  stop
  rm -rf "$T"
fi
mkdir -p "$T"
[[ ${#RUN[@]} -eq 0 ]] || chown nobody:nogroup "$T"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${RUN[@]}" "$BIN/initdb" -D "$T/data" -U dim -A trust --no-sync >"$T/initdb.log" 2>&1 ||
  { echo "postgres.sh: initdb failed (see $T/initdb.log)" >&2; exit 1; }
# TLS for the clients that ask for it (sslmode in the URL), with a self-signed certificate for 127.0.0.1;
# DIR/ca.crt is it, for sslmode=verify-full&sslrootcert=DIR/ca.crt.
"${RUN[@]}" openssl req -new -x509 -days 30 -nodes -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$T/data/server.key" -out "$T/data/server.crt" >"$T/openssl.log" 2>&1 ||
  { echo "postgres.sh: openssl could not make the server's certificate (see $T/openssl.log)" >&2; exit 1; }
chmod 600 "$T/data/server.key"
cp "$T/data/server.crt" "$T/ca.crt"
start_server "$PORT"
echo "$PORT" >"$T/port"
psql -X -q -h 127.0.0.1 -p "$PORT" -U dim -d postgres -c 'CREATE DATABASE dimstream' >/dev/null
echo "postgresql://dim@127.0.0.1:$PORT/dimstream" >"$T/url"
echo "postgresql://dim@127.0.0.1:$PORT/dimstream"
