#!/usr/bin/env bash
# A private RabbitMQ for tests, on loopback, in a directory of its own (Debian's rabbitmq-server).
#
#   scripts/servers/rabbitmq.sh start DIR   # prints the URL; DIR/url holds it (an existing DIR is stopped
#                                           # and emptied first)
#   scripts/servers/rabbitmq.sh stop DIR    # stops the broker and its epmd by their process ids
#   scripts/servers/rabbitmq.sh restart DIR # stops them and starts them again on the same ports and state
#
# The broker runs as `nobody` when started by root (as the caller otherwise) with its own epmd, both on
# 127.0.0.1 only and on ports chosen free, and keeps everything under DIR. The user is guest/guest (allowed
# from loopback). It also listens with TLS: DIR/tls_url holds amqps://localhost:PORT/%2F, its certificate
# (for localhost and 127.0.0.1) is signed by a CA made for it, DIR/tls/ca.pem. Starting takes about 8 s.
set -euo pipefail

cmd=${1:-}
T=${2:-}
[[ -n $cmd && -n $T ]] || { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }

RUN=()
if [[ $(id -u) -eq 0 ]]; then RUN=(runuser -u nobody --); fi

stop() {
  for f in "$T/rabbit.pid" "$T/epmd.pid"; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    [[ -n $pid ]] || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

if [[ $cmd == stop ]]; then
  stop
  exit 0
fi
[[ $cmd == start || $cmd == restart ]] || { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
for tool in /usr/lib/rabbitmq/bin/rabbitmq-server /usr/lib/rabbitmq/bin/rabbitmqctl epmd python3 openssl; do
  command -v "$tool" >/dev/null || { echo "rabbitmq.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
if [[ $cmd == restart ]]; then
  [[ -f $T/ports ]] || { echo "rabbitmq.sh: nothing to restart in $T" >&2; exit 1; }
  stop
  read -r PORT DIST EPMD TLSPORT <"$T/ports"
else
  if [[ -d $T ]]; then
    stop
    rm -rf "$T"
  fi
  mkdir -p "$T/log" "$T/mnesia"
  PORT=$(free_port)
  DIST=$(free_port)
  EPMD=$(free_port)
  TLSPORT=$(free_port)
  echo "$PORT $DIST $EPMD $TLSPORT" >"$T/ports"
  # A CA of its own and the broker's certificate, signed by it.
  mkdir -p "$T/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=dimstream test CA" \
    -keyout "$T/tls/ca.key" -out "$T/tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/tls/server.key" \
    -out "$T/tls/server.csr" 2>/dev/null
  printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >"$T/tls/ext.cnf"
  openssl x509 -req -in "$T/tls/server.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" -CAcreateserial \
    -days 30 -extfile "$T/tls/ext.cnf" -out "$T/tls/server.pem" 2>/dev/null
fi
NODE="rabbit-$PORT@localhost"
cat >"$T/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
listeners.ssl.default = 127.0.0.1:$TLSPORT
ssl_options.cacertfile = $T/tls/ca.pem
ssl_options.certfile = $T/tls/server.pem
ssl_options.keyfile = $T/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
loopback_users = none
EOF
echo '[].' >"$T/enabled_plugins"
# The Erlang cookie lives in $HOME.
[[ ${#RUN[@]} -eq 0 ]] || chown -R nobody:nogroup "$T"
ENV=(env HOME="$T" RABBITMQ_NODENAME="$NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$PORT"
  RABBITMQ_DIST_PORT="$DIST" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EPMD" RABBITMQ_MNESIA_BASE="$T/mnesia"
  RABBITMQ_LOG_BASE="$T/log" RABBITMQ_CONFIG_FILE="$T/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$T/enabled_plugins"
  RABBITMQ_PID_FILE="$T/rabbit.pid"
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}')
# Our own epmd, in the foreground of a shell that wrote its id first: the broker would otherwise start one
# as a daemon whose id nobody knows.
"${RUN[@]}" "${ENV[@]}" sh -c 'echo $$ >"$0/epmd.pid"; exec epmd -port "$1" -address 127.0.0.1' "$T" "$EPMD" \
  >"$T/log/epmd.log" 2>&1 &
for _ in $(seq 1 50); do
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$EPMD" \
    2>/dev/null && break
  sleep 0.1
done
trap 'stop' ERR
"${RUN[@]}" "${ENV[@]}" setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$T/log/server.out" 2>&1 </dev/null &
if ! "${RUN[@]}" "${ENV[@]}" timeout 120 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$NODE" wait --timeout 110 \
  "$T/rabbit.pid" >"$T/log/wait.log" 2>&1; then
  echo "rabbitmq.sh: the broker did not start (see $T/log)" >&2
  stop
  exit 1
fi
echo "amqp://127.0.0.1:$PORT/%2F" >"$T/url"
echo "amqps://localhost:$TLSPORT/%2F" >"$T/tls_url"
echo "amqp://127.0.0.1:$PORT/%2F"
