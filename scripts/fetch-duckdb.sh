#!/usr/bin/env bash
# Fetches DuckDB 1.4.4 (library and C header) from the npm registry, verifies the published integrity
# hashes, and unpacks both into third_party/duckdb (ignored by git). Debian has no DuckDB package; the npm
# registry carries the official build. Idempotent: does nothing when the files are already there.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="${DUCKDB_DEST:-$root/third_party/duckdb}"

lib_pkg='@duckdb/node-bindings-linux-x64@1.4.4-r.4'
lib_integrity='sha512-jBTL/WvfwxLToFa/pVHfT6elMtltJGnc3wSuxZD9OfMltit9YUdVFS37vBFQzXMT1Z8OWjtSjMh+zPKxOwHLHA=='
hdr_pkg='duckdb@1.4.4'
hdr_integrity='sha512-hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog=='

if [[ -f "$dest/lib/libduckdb.so" && -f "$dest/include/duckdb.h" ]]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-duckdb: npm is required (apt-get install npm, or install Node.js)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Downloads one package tarball and checks it against its published integrity string.
fetch() {
  local pkg=$1 integrity=$2 tgz actual
  tgz=$(cd "$work" && npm pack --silent "$pkg" | tail -n 1)
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w 0)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "fetch-duckdb: integrity mismatch for $pkg: expected $integrity, got $actual" >&2
    exit 1
  fi
  echo "$work/$tgz"
}

lib_tgz=$(fetch "$lib_pkg" "$lib_integrity")
hdr_tgz=$(fetch "$hdr_pkg" "$hdr_integrity")

mkdir -p "$work/lib" "$work/hdr" "$dest.tmp/lib" "$dest.tmp/include"
tar -xzf "$lib_tgz" -C "$work/lib"
tar -xzf "$hdr_tgz" -C "$work/hdr" package/src/duckdb/src/include/duckdb.h
cp "$(find "$work/lib" -name libduckdb.so | head -n 1)" "$dest.tmp/lib/libduckdb.so"
cp "$work/hdr/package/src/duckdb/src/include/duckdb.h" "$dest.tmp/include/duckdb.h"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "fetch-duckdb: DuckDB 1.4.4 in $dest"
