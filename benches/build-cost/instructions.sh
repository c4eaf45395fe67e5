#!/usr/bin/env bash
# The release build of each app crate alone (dependencies built), counted in the
# compiler's instructions under valgrind: unlike CPU seconds, the same for the same
# sources whatever else the machine runs, so it decides changes too small for
# measure.sh's rounds to see. Prints one line per app and the ratio (ORM ÷ Diesel).
#
#   benches/build-cost/instructions.sh          (needs valgrind; about 3 minutes)
#
# Shares measure.sh's release target directories ($BUILD_COST_TARGET).
set -euo pipefail
cd "$(dirname "$0")"
target_root="${BUILD_COST_TARGET:-/var/tmp/orm-build-cost}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

count() {
  local app=$1 bin=$2 target="$target_root/$1-release" cmd
  CARGO_TARGET_DIR="$target" cargo build --release --quiet --manifest-path "$app/Cargo.toml"
  # The exact rustc invocation cargo runs for the app crate, captured after an edit.
  printf '// instructions.sh\n' >>"$app/src/models.rs"
  cmd=$(CARGO_TARGET_DIR="$target" cargo build --release -v --manifest-path "$app/Cargo.toml" 2>&1 |
    sed -n "s/^ *Running \`\(.*--crate-name $bin .*\)\`\$/\1/p")
  sed -i '/^\/\/ instructions.sh$/d' "$app/src/models.rs"
  (cd "$app" && eval valgrind --tool=callgrind --callgrind-out-file=/dev/null "$cmd" 2>&1) |
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p'
}
trap 'sed -i "/^\/\/ instructions.sh$/d" orm-app/src/models.rs diesel-app/src/models.rs' EXIT

# Both at once: each count is one compiler process, and counts do not move with load.
out=$(mktemp -d)
count orm-app orm_build_cost_app >"$out/orm" &
count diesel-app diesel_build_cost_app >"$out/diesel" &
wait
orm=$(cat "$out/orm") diesel=$(cat "$out/diesel")
rm -rf "$out"
echo "release build of the app crate, compiler instructions: this ORM $orm, Diesel 2.3 $diesel"
awk -v o="$orm" -v d="$diesel" 'BEGIN { printf "ratio %.2f\n", o / d }'
