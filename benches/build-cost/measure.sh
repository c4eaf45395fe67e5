#!/usr/bin/env bash
# Build cost of the same six-model SQLite app on this ORM (orm-app/) and on Diesel 2.3
# (diesel-app/), in CPU seconds (user + system, every rustc the build runs included),
# interleaved over ROUNDS rounds (default 3), medians reported:
#   clean debug build          cargo build from an empty target directory
#   rebuild after a model edit  one line changed in src/models.rs, cargo build (debug)
#   release build of the app   the same edit, cargo build --release (dependencies built)
#
#   benches/build-cost/measure.sh [ROUNDS]
#
# Target directories live under $BUILD_COST_TARGET (default /var/tmp/orm-build-cost).
set -euo pipefail
cd "$(dirname "$0")"
rounds="${1:-3}"
target_root="${BUILD_COST_TARGET:-/var/tmp/orm-build-cost}"
apps=(orm-app diesel-app)
mkdir -p "$target_root"

# CPU seconds (user + sys) of one command and its children.
cpu_seconds() {
  local TIMEFORMAT='%U %S' times
  times=$( { time "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
  awk -v t="$times" 'BEGIN { split(t, p, " "); printf "%.1f", p[1] + p[2] }'
}

edit_model() { printf '// edited by measure.sh: %s\n' "$1" >>"$2/src/models.rs"; }
restore_model() { git checkout --quiet -- "$1/src/models.rs" 2>/dev/null || sed -i '/edited by measure.sh/d' "$1/src/models.rs"; }
trap 'for a in "${apps[@]}"; do restore_model "$a"; done' EXIT

declare -A clean edit release
for app in "${apps[@]}"; do
  # Release dependencies once, untimed: the release figure is the app crate alone.
  CARGO_TARGET_DIR="$target_root/$app-release" cargo build --release --quiet --manifest-path "$app/Cargo.toml"
done
for round in $(seq 1 "$rounds"); do
  # Alternate which app goes first, so neither always builds on a warmer machine.
  if (( round % 2 )); then order=("${apps[@]}"); else order=(diesel-app orm-app); fi
  for app in "${order[@]}"; do
    debug="$target_root/$app-debug"
    rm -rf "$debug"
    clean[$app]+="$(CARGO_TARGET_DIR="$debug" cpu_seconds cargo build --manifest-path "$app/Cargo.toml") "
    edit_model "round $round" "$app"
    edit[$app]+="$(CARGO_TARGET_DIR="$debug" cpu_seconds cargo build --manifest-path "$app/Cargo.toml") "
    release[$app]+="$(CARGO_TARGET_DIR="$target_root/$app-release" cpu_seconds cargo build --release --manifest-path "$app/Cargo.toml") "
    restore_model "$app"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
crates() { cargo tree --manifest-path "$1/Cargo.toml" -e normal,build --prefix none 2>/dev/null | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | wc -l; }

echo "| build (CPU seconds, median of $rounds) | this ORM | Diesel 2.3 | ratio |"
echo "|---|---:|---:|---:|"
row() {
  local name=$1 o d
  o=$(echo "$2" | median); d=$(echo "$3" | median)
  awk -v n="$name" -v o="$o" -v d="$d" 'BEGIN { printf "| %s | %.1f | %.1f | %.2f |\n", n, o, d, o / d }'
}
row "clean debug build" "${clean[orm-app]}" "${clean[diesel-app]}"
row "rebuild after a model edit (debug)" "${edit[orm-app]}" "${edit[diesel-app]}"
row "release build of the app crate" "${release[orm-app]}" "${release[diesel-app]}"
echo "| crates in the build | $(crates orm-app) | $(crates diesel-app) | |"
echo
echo "every round, in seconds: orm clean ${clean[orm-app]}/ diesel clean ${clean[diesel-app]}/ orm edit ${edit[orm-app]}/ diesel edit ${edit[diesel-app]}/ orm release ${release[orm-app]}/ diesel release ${release[diesel-app]}"
