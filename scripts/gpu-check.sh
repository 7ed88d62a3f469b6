#!/bin/bash
# The GPU check (BENCHMARKS.md). Three ways in:
#
#   npm run gpu:check -- --dry-run     here: the check on the CPU provider (the demo model,
#                                      small contexts); proves the script without a GPU
#   bash scripts/gpu-check.sh [ARGS]   on a machine with a GPU and the project installed
#   bash scripts/gpu-check.sh --receive | --device
#                                      on the lent GPU machine, in the calls that
#                                      `npm run gpu:stage` plans: --receive copies the
#                                      call's parts (and the device kit) into /tmp/monet-gpu;
#                                      --device (the last call) also assembles the components,
#                                      activates the kit (Node, onnxruntime-node, Vulkan loaders,
#                                      CUDA libraries), runs the check with no network, and copies
#                                      the JSON and the log to $OUT.
#
# MONET_GPU_TMP (default /tmp/monet-gpu) is where parts and components live between calls;
# MONET_GPU_SIMULATE=1 stops --device after the assembly; MONET_GPU_SIMULATE=run also activates
# the kit, minus its dpkg/ldconfig into / (not on a shared machine), and runs the check
# (npm run gpu:stage -- simulate [--run], tests);
# MONET_GPU_BUDGET_S (default 450) is the check's time budget on the machine.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
T=${MONET_GPU_TMP:-/tmp/monet-gpu}

receive() {
  mkdir -p "$T/parts"
  # Parts of another staging (a re-staged plan) must not mix with this one's.
  local incoming
  incoming=$(ls .gpucheck/call*/stage.json 2>/dev/null | head -1)
  if [ -n "$incoming" ] && [ -f "$T/parts/stage.json" ] && ! cmp -s "$incoming" "$T/parts/stage.json"; then
    echo "gpu-check: another staging's parts in $T/parts: dropped"
    rm -rf "${T:?}/parts" && mkdir -p "$T/parts"
  fi
  if [ -f .devicekit/activate.sh ]; then
    rm -rf "$T/devicekit" && cp -r .devicekit "$T/devicekit"
  fi
  local d
  for d in .gpucheck/call*/; do
    [ -d "$d" ] && cp -f "$d"* "$T/parts/"
  done
  inventory
}

# The parts.tsv rows (component, index, file, bytes, sha256) of a component whose file is here, in order.
present_rows() {
  cat "$T"/parts/parts.call*.tsv 2>/dev/null | awk -F'\t' -v c="$1" '$1 == c' | sort -t$'\t' -k2,2n |
    while IFS=$'\t' read -r c i part rest; do
      [ -f "$T/parts/$part" ] && printf '%s\t%s\t%s\t%s\n' "$c" "$i" "$part" "$rest"
    done
}

# Per component: how many of its parts are here, and whether they are whole (sha256).
inventory() {
  local comps="$T/parts/components.tsv"
  if [ ! -f "$comps" ]; then
    echo "gpu-check: no staged parts in $T/parts (run the calls that npm run gpu:stage printed, in order)"
    return 0
  fi
  local name file bytes sha nparts target have
  while IFS=$'\t' read -r name file bytes sha nparts target; do
    [ -n "$name" ] || continue
    have=$(present_rows "$name" | grep -c .)
    echo "gpu-check: $name: $have of $nparts parts in $T/parts"
  done <"$comps"
  [ -d "$T/devicekit" ] && echo "gpu-check: device kit in $T/devicekit"
  return 0
}

# Joins each component whose parts are all here and whole, checks it, and unpacks it.
assemble() {
  local comps="$T/parts/components.tsv" name file bytes sha nparts target rows ok dest
  [ -f "$comps" ] || { echo "gpu-check: nothing staged in $T/parts"; return 0; }
  mkdir -p "$T/payload"
  while IFS=$'\t' read -r name file bytes sha nparts target; do
    [ -n "$name" ] || continue
    rows=$(present_rows "$name")
    if [ "$(printf '%s\n' "$rows" | grep -c .)" -ne "$nparts" ]; then
      echo "gpu-check: $name: not all $nparts parts arrived; skipped (checks that need it say so)"
      continue
    fi
    ok=1
    while IFS=$'\t' read -r _c _i part pbytes psha; do
      [ "$(sha256sum "$T/parts/$part" | cut -d' ' -f1)" = "$psha" ] || { echo "gpu-check: $part is damaged"; ok=0; }
    done <<<"$rows"
    [ $ok = 1 ] || continue
    printf '%s\n' "$rows" | cut -f3 | sed "s#^#$T/parts/#" | xargs cat >"$T/payload/$file"
    if [ "$(sha256sum "$T/payload/$file" | cut -d' ' -f1)" != "$sha" ]; then
      echo "gpu-check: $name: joined file does not match its sha256; skipped"
      continue
    fi
    case "$target" in
      tmp:*) dest="$T/${target#tmp:}" ;;
      repo:*) dest="$root/${target#repo:}" ;;
      *) echo "gpu-check: $name: unknown target $target"; continue ;;
    esac
    mkdir -p "$dest" && tar -C "$dest" -xJf "$T/payload/$file" && echo "gpu-check: $name ($bytes bytes) unpacked into $dest"
  done <"$comps"
}

case "${1:-}" in
--receive)
  receive
  exit 0
  ;;
--device)
  shift
  receive
  assemble
  if [ "${MONET_GPU_SIMULATE:-}" = 1 ]; then
    echo "gpu-check: simulated: assembled; not activating the kit or running the check"
    exit 0
  fi
  [ -f .devicekit/activate.sh ] || { [ -d "$T/devicekit" ] && cp -r "$T/devicekit" .devicekit; }
  [ -f .devicekit/activate.sh ] || { echo "gpu-check: no device kit (.devicekit): call 1 of the plan carries it"; exit 3; }
  if [ "${MONET_GPU_SIMULATE:-}" = run ]; then
    # Here, not on the GPU machine: the kit's loader packages must not be unpacked into /.
    dpkg() { :; }
    ldconfig() { :; }
  fi
  # shellcheck disable=SC1091
  source .devicekit/activate.sh
  for f in dist/gpu-check.js dist/cli.js; do
    [ -f "$f" ] || { echo "gpu-check: $f missing: the last call carries the bundles"; exit 3; }
  done
  args=(--fixtures "$T/fixtures" --demo-model "$root/models/tiny-codemonet" --cache "$T/cache"
    --synth-dir "$T/codemonet-1.4b" --out "$root/bench/results" --stage "$T/parts/stage.json"
    --budget-s "${MONET_GPU_BUDGET_S:-450}")
  [ -f "$T/cuda-runtime/node_modules/onnxruntime-node/package.json" ] &&
    args+=(--cuda-node-modules "$T/cuda-runtime/node_modules")
  node dist/gpu-check.js "${args[@]}" "$@" 2>&1 | tee "$T/gpu-check.log"
  rc=${PIPESTATUS[0]}
  if [ -n "${OUT:-}" ]; then
    cp "$T/gpu-check.log" "$OUT/" 2>/dev/null
    newest=$(ls -t bench/results/*.json 2>/dev/null | head -1)
    [ -n "$newest" ] && cp "$newest" "$OUT/"
  fi
  exit "$rc"
  ;;
esac

# Here, or on a GPU machine with the project installed.
if [ ! -f dist/gpu-check.js ]; then
  node scripts/build.mjs >/dev/null || exit 1
fi
exec node dist/gpu-check.js "$@"
