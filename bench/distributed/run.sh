#!/usr/bin/env bash
# Data-parallel scaling on this machine: `train` (SegFormer-B0 fine-tuning) and `pretrain` (Tiny-ImageNet, when the data
# root has it) throughput with 1 and 2 processes (1 intra-op thread and 1 loader thread each, the same global batch), and
# the gradient all-reduce time per step that rank 0 reports. Prints images/s of each, the 2-vs-1 speed-up, and the
# all-reduce line.
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
  dotnet "$DLL" "${args[@]}" "$@" --db "$tmp/$label/runs.db" --output "$tmp/$label" >"$tmp/$label.log" 2>&1 || { cat "$tmp/$label.log" >&2; exit 1; }
  awk '/^iter /{n++; if (n>2) {s+=$(NF-3); k++}} END {printf "%.3f\n", s/k}' "$tmp/$label.log"
}
scaling() { # $1 = label prefix, $2 = title; runs 1 and 2 processes with the current args and prints the comparison
  local one two
  one=$(run "$1-one" --threads 1)
  two=$(run "$1-two" --nproc 2 --threads 1)
  echo "$2, $ITERS steps, 1 thread per process:"
  echo "  1 process : $one img/s"
  echo "  2 processes: $two img/s"
  awk -v a="$one" -v b="$two" 'BEGIN{printf "  speed-up 2 vs 1: %.2fx\n", b/a}'
  grep '^all-reduce:' "$tmp/$1-two.log" | sed 's/^/  /'
}
scaling train "segformer-b0 fine-tuning 256x256, global batch 4"

DATA="${BOOSTFORMER_DATA:-../shared/data}"
if [ -d "$DATA/tiny-imagenet-200" ]; then
  args=(pretrain --model segformer-b0 --root "$DATA" --iterations "$ITERS" --warmup 1 --batch-size 64 --image-size 64 --seed 1 --workers 1
        --val-limit 64 --log-every 1)
  scaling pretrain "segformer-b0 Tiny-ImageNet pretraining 64x64, global batch 64"
else
  echo "(pretraining scaling skipped: no tiny-imagenet-200 under $DATA)"
fi
