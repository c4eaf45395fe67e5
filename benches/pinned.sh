#!/usr/bin/env bash
# Runs a command with it and the local PostgreSQL server's processes on one CPU (CPU 0),
# then gives the server every CPU back, as the interleaved PostgreSQL comparison in
# BENCHMARKS.md was measured: on a small machine, where the kernel runs the server's
# backend and the client decides how long a round trip takes, and pinning both to one
# CPU removes that from the figures. Needs permission to change the server's affinity
# (root, or the server's own user).
#
#   benches/pinned.sh cargo run --release -p orm-benches --bin pg-paired -- 30
set -euo pipefail
server() { pgrep -f postgres || true; }
all_cpus=$(printf '%x' $(( (1 << $(nproc)) - 1 )))
restore() { for p in $(server); do taskset -p "$all_cpus" "$p" >/dev/null 2>&1 || true; done; }
trap restore EXIT
for p in $(server); do taskset -p 1 "$p" >/dev/null; done
taskset -c 0 "$@"
