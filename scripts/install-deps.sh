#!/usr/bin/env bash
# Installs every Debian 12 package ringkv needs to build, test and benchmark. Idempotent.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libsqlite3-dev libboost-program-options-dev libboost-dev
  googletest libgtest-dev libgmock-dev
  libzstd-dev liblz4-dev libxxhash-dev libsystemd-dev
  libleveldb-dev librocksdb-dev
  python3 python3-zmq python3-msgpack
  iproute2 procps
  help2man dpkg-dev fakeroot  # man pages from --help; cpack -G DEB (dpkg-shlibdeps) and its test
  python3-venv python3-pip python3-setuptools  # the Python client as a package, tested in a venv
  nftables  # tests/fault: partitions and packet loss inside the lab's network namespaces
  libfuse3-dev fuse3  # tests/fault/lazyfs: the FUSE file system that simulates power loss
  clang libclang-rt-14-dev  # the libFuzzer targets of fuzz/ (scripts/fuzz.sh): clang's libFuzzer
  redis-server redis-tools etcd-server etcd-client  # bench/cluster-compare's peers (and its test)
  libcpp-httplib-dev  # common/metrics/http: each agent's Prometheus /metrics endpoint
  prometheus  # tests/metrics: promtool check metrics, and a real server scraping the agents
  debootstrap systemd-container  # tests/systemd/boot_test.py: the units in a booted Debian 12
)
if [ "${RINGKV_BENCH_DEPS:-0}" = 1 ]; then
  packages+=(linux-perf valgrind)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
