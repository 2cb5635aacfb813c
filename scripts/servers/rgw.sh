#!/usr/bin/env bash
# A private S3 endpoint for tests: Ceph's radosgw on loopback, with one monitor and one in-memory OSD
# (Debian's radosgw, ceph-mon, ceph-osd and ceph-common packages), in a directory of its own.
#
#   scripts/servers/rgw.sh start DIR   # prints the endpoint; DIR/endpoint holds it, DIR/run/*.pid the daemons
#                                      # (an existing DIR is stopped and emptied first); DIR/https_endpoint
#                                      # is the same radosgw over TLS, DIR/ca.crt verifies it
#   scripts/servers/rgw.sh stop DIR    # stops the daemons by their process ids
#   scripts/servers/rgw.sh stop-rgw DIR     # stops radosgw alone (the S3 endpoint goes away, the data stays)
#   scripts/servers/rgw.sh restart-rgw DIR  # stops radosgw if it runs and starts it again on the same ports
#
# The daemons run as `nobody` when started by root (as the caller otherwise), listen on 127.0.0.1 only, on
# ports chosen free (plain HTTP on one, TLS on another with a self-signed certificate for 127.0.0.1), and
# keep everything under DIR. A user `dim` has access key AKDIM, secret SKDIMSECRET.
# Starting takes about 12 s.
set -euo pipefail

cmd=${1:-}
T=${2:-}
usage="usage: $0 start|stop|stop-rgw|restart-rgw DIR"
[[ -n $cmd && -n $T ]] || { echo "$usage" >&2; exit 2; }

stop_pids() {
  for f in "$@"; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}
stop() {
  stop_pids "$T"/run/rgw.pid "$T"/run/osd.pid "$T"/run/mon.pid
}
RUN=()
if [[ $(id -u) -eq 0 ]]; then RUN=(runuser -u nobody --); fi
# Starts radosgw on the configured ports and waits until both listeners answer.
start_rgw() {
  "${RUN[@]}" radosgw -c "$T/ceph.conf" -n client.rgw.a --pid-file "$T/run/rgw.pid"
  local endpoint ssl_endpoint up=""
  endpoint=$(sed -n 's/^rgw frontends = beast endpoint=\([^ ]*\).*/\1/p' "$T/ceph.conf")
  ssl_endpoint=$(sed -n 's/^rgw frontends = .* ssl_endpoint=\([^ ]*\).*/\1/p' "$T/ceph.conf")
  for _ in $(seq 1 240); do
    if curl -s -m 1 -o /dev/null "http://$endpoint/" &&
      curl -s -m 1 -o /dev/null --cacert "$T/ca.crt" "https://$ssl_endpoint/"; then
      up=1
      break
    fi
    sleep 0.25
  done
  [[ -n $up ]] || { echo "rgw.sh: radosgw did not answer on $endpoint and $ssl_endpoint (see $T/log)" >&2; return 1; }
}

case $cmd in
  stop) stop; exit 0 ;;
  stop-rgw) stop_pids "$T"/run/rgw.pid; exit 0 ;;
  restart-rgw) stop_pids "$T"/run/rgw.pid; start_rgw; exit 0 ;;
  start) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool uuidgen python3 openssl; do
  command -v "$tool" >/dev/null || { echo "rgw.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# A directory left by an earlier run (a killed test run): its daemons stopped, its state gone.
if [[ -d $T ]]; then
  stop
  rm -rf "$T"
fi
S3PORT=$(free_port)
S3TLSPORT=$(free_port)
MONPORT=$(free_port)

mkdir -p "$T"/run "$T"/log "$T"/mon "$T"/osd "$T"/rgw
FSID=$(uuidgen)
# The `ms * mode = crc` lines: without them radosgw cannot fetch its configuration from the monitor; a
# monitor on another port than 6789 speaks msgr2 only, hence the v2: address.
cat >"$T/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MONPORT
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms bind ipv6 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $T/run
admin socket = $T/run/\$name.asok
log file = $T/log/\$name.log
mon cluster log file = $T/log/cluster.log
keyring = $T/keyring
[mon]
mon data = $T/mon/\$cluster-\$id
mon max pg per osd = 1000
[osd]
osd data = $T/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$S3PORT ssl_endpoint=127.0.0.1:$S3TLSPORT ssl_certificate=$T/tls/server.crt ssl_private_key=$T/tls/server.key
rgw data = $T/rgw
EOF
trap 'stop' ERR
ceph-authtool --create-keyring "$T/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$MONPORT]" --fsid "$FSID" "$T/monmap" >/dev/null
[[ ${#RUN[@]} -eq 0 ]] || chown -R nobody:nogroup "$T"
# TLS beside plain HTTP, with a self-signed certificate for 127.0.0.1 (made by radosgw's user, so that the
# key, readable by it alone, is its own); DIR/ca.crt is it, for object_store.ca_file.
mkdir -p "$T/tls"
[[ ${#RUN[@]} -eq 0 ]] || chown nobody:nogroup "$T/tls"
"${RUN[@]}" openssl req -new -x509 -days 30 -nodes -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$T/tls/server.key" -out "$T/tls/server.crt" >"$T/log/openssl.log" 2>&1 ||
  { echo "rgw.sh: openssl could not make the certificate (see $T/log/openssl.log)" >&2; exit 1; }
chmod 600 "$T/tls/server.key"
cp "$T/tls/server.crt" "$T/ca.crt"
"${RUN[@]}" ceph-mon -c "$T/ceph.conf" --mkfs -i a --monmap "$T/monmap" --keyring "$T/keyring"
"${RUN[@]}" ceph-mon -c "$T/ceph.conf" -i a --pid-file "$T/run/mon.pid"
C=(ceph -c "$T/ceph.conf" --connect-timeout 10)
U=$(uuidgen)
ID=$("${C[@]}" osd new "$U")
mkdir -p "$T/osd/ceph-$ID"
[[ ${#RUN[@]} -eq 0 ]] || chown -R nobody:nogroup "$T/osd"
"${RUN[@]}" ceph-osd -c "$T/ceph.conf" -i "$ID" --mkfs --osd-uuid "$U" 2>/dev/null
"${RUN[@]}" ceph-osd -c "$T/ceph.conf" -i "$ID" --pid-file "$T/run/osd.pid" 2>/dev/null
start_rgw || { stop; exit 1; }
radosgw-admin -c "$T/ceph.conf" user create --uid=dim --display-name=dim --access-key=AKDIM \
  --secret-key=SKDIMSECRET >/dev/null
echo "http://127.0.0.1:$S3PORT" >"$T/endpoint"
echo "https://127.0.0.1:$S3TLSPORT" >"$T/https_endpoint"
echo "http://127.0.0.1:$S3PORT"
