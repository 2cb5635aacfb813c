#!/usr/bin/env bash
# Installs what building and testing dimstream needs, and nothing that is already there: Debian packages
# with apt-get (as root, or through sudo), then DuckDB 1.4.4 from the npm registry (scripts/fetch-duckdb.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  g++ cmake ninja-build pkg-config make ccache
  libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev libxxhash-dev nlohmann-json3-dev libssl-dev
  zlib1g-dev libzstd-dev libsimdjson-dev libcurl4-openssl-dev libpugixml-dev libcpp-httplib-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-dev
  python3 openssl curl uuid-runtime
  help2man lintian dpkg-dev
  radosgw ceph-mon ceph-osd ceph-common
  postgresql-15 libpq-dev rabbitmq-server librabbitmq-dev
  prometheus  # promtool, which checks the /metrics exposition in a test
  chromium    # the dashboard's browser test (tests/browser, with playwright-core from npm)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$root/scripts/fetch-duckdb.sh"

# The browser test's driver, playwright-core, from the npm registry at the version package-lock.json pins.
if [[ ! -d $root/tests/browser/node_modules/playwright-core ]]; then
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --silent)
fi
