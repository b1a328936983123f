#!/usr/bin/env bash
# Data-parallel scaling on this machine: `train` throughput with 1 and 2 processes (1 intra-op thread and 1 loader
# thread each, the same global batch), and the gradient all-reduce time per step that rank 0 reports. Prints images/s
# of each, the 2-vs-1 speed-up, and the all-reduce line.
set -euo pipefail
cd "$(dirname "$0")/../.."
DLL=src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll
[ -f "$DLL" ] || dotnet build src/BoostFormer.Cli -c Release -v q --nologo >/dev/null
ITERS="${ITERS:-12}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
args=(train --model segformer-b0 --dataset synthetic --synthetic-size 256 --crop 256 --scale 256x256 --iterations "$ITERS" --warmup 1
      --batch-size 4 --seed 1 --workers 1 --val-limit 1 --log-every 1)
run() { # $1 = label, rest = extra args; prints mean images/s over the iterations after the first two
  local label=$1; shift
  dotnet "$DLL" "${args[@]}" --db "$tmp/$label/runs.db" --output "$tmp/$label" "$@" >"$tmp/$label.log" 2>&1 || { cat "$tmp/$label.log" >&2; exit 1; }
  awk '/^iter /{n++; if (n>2) {s+=$(NF-3); k++}} END {printf "%.3f\n", s/k}' "$tmp/$label.log"
}
one=$(run one --threads 1)
two=$(run two --nproc 2 --threads 1)
echo "segformer-b0 256x256, global batch 4, $ITERS steps, 1 thread per process:"
echo "  1 process : $one img/s"
echo "  2 processes: $two img/s"
awk -v a="$one" -v b="$two" 'BEGIN{printf "  speed-up 2 vs 1: %.2fx\n", b/a}'
grep '^all-reduce:' "$tmp/two.log" | sed 's/^/  /'
