#!/usr/bin/env bash
# The short CamVid fine-tuning sweep of issue 19 behind scripts/train-full.sh's schedule: BoostFormer-B0 from its
# Tiny-ImageNet encoder (the `full` pretraining), 150 iterations each (warm-up 30, poly decay), one thread per run, one
# change per run against the reference (lr 4e-4, 4 crops of 384x384, fp32):
#   learning rate 2e-4 / 4e-4 / 8e-4; crop 256 with batch 8 (about the same pixels per step); bf16 mixed precision.
# Each run validates once at its end on the 101 CamVid val images; the table goes to results/camvid-sweep.md/.csv
# (`boostformer report`, read from runs/full/workbook.db, with what each run changes). Runs are resumable and a finished
# run is reused, so rerunning continues where it stopped.
#
# Usage: scripts/sweep-camvid.sh [JOBS]   (JOBS runs at a time, default 1; BOOSTFORMER_DATA: data root, default
#        ../shared/data; BOOSTFORMER_CLI_DLL: a frozen copy of the CLI build, as in train-full.sh)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${BOOSTFORMER_DATA:-$repo/../shared/data}"
[[ -d "$data/camvid" ]] || { echo "error: $data holds no camvid/ (set BOOSTFORMER_DATA)" >&2; exit 2; }
jobs="${1:-1}"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "error: JOBS must be a positive integer, got '$jobs'" >&2; exit 2; }
dll="${BOOSTFORMER_CLI_DLL:-$repo/src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll}"
[[ -f "$dll" ]] || dotnet build "$repo/src/BoostFormer.Cli/BoostFormer.Cli.csproj" -c Release -v q -nologo >&2
db="$repo/runs/full/workbook.db"
logs="$repo/runs/full/logs"
mkdir -p "$logs"
encoder=$(ls -t "$repo"/runs/full/boostformer-b0-tiny-imagenet-full/run-*/encoder.safetensors 2>/dev/null | head -n 1 || true)
[[ -n "$encoder" ]] || { echo "error: no BoostFormer-B0 encoder in runs/full (run scripts/train-full.sh boostformer-b0 first)" >&2; exit 2; }
export BOOSTFORMER_DATA="$data" BOOSTFORMER_THREADS=1 OMP_NUM_THREADS=1 MALLOC_ARENA_MAX=2

# name | lr | crop | batch | precision   (the reference first; each other run changes one thing)
configs=(
  "boostformer-b0-camvid-sweep-lr4e-4|4e-4|384|4|fp32"
  "boostformer-b0-camvid-sweep-lr2e-4|2e-4|384|4|fp32"
  "boostformer-b0-camvid-sweep-lr8e-4|8e-4|384|4|fp32"
  "boostformer-b0-camvid-sweep-crop256-b8|4e-4|256|8|fp32"
  "boostformer-b0-camvid-sweep-bf16|4e-4|384|4|bf16"
)

one() {
  local name=$1 lr=$2 crop=$3 batch=$4 precision=$5
  dotnet "$dll" train --model boostformer-b0 --dataset camvid --pretrained "$encoder" --iterations 150 --warmup 30 \
    --lr "$lr" --crop "$crop" --batch-size "$batch" --precision "$precision" --eval-interval 0 --checkpoint-interval 50 --keep 1 \
    --seed 0 --threads 1 --workers 1 --log-every 25 --db "$db" --name "$name" --resume --reuse >> "$logs/$name.log" 2>&1
}

status=0
names=()
for c in "${configs[@]}"; do
  IFS='|' read -r name lr crop batch precision <<< "$c"
  names+=("$name")
  while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || status=1; done
  echo "$name: lr $lr, crop $crop, batch $batch, $precision (log $logs/$name.log)"
  one "$name" "$lr" "$crop" "$batch" "$precision" &
done
while (( $(jobs -rp | wc -l) > 0 )); do wait -n || status=1; done
(( status == 0 )) || { echo "error: a sweep run failed; see $logs" >&2; exit 1; }
runs=$(IFS=,; echo "${names[*]}")
dotnet "$dll" report --db "$db" --runs "$runs" --output "$repo/results/camvid-sweep" \
  --title "CamVid fine-tuning sweep (BoostFormer-B0, Tiny-ImageNet encoder, 150 iterations)" --regenerate "scripts/sweep-camvid.sh"
