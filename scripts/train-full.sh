#!/usr/bin/env bash
# The `full` CPU schedule of issue 19 for SegFormer-B0 and BoostFormer-B0, the two models side by side at one thread each
# (this machine has 2 cores):
#   1. Tiny-ImageNet pretraining of the encoder, one recipe for both: 3,000 iterations of 64 images at 64x64 (19 epochs
#      of the 10,100-image subset), AdamW lr 1e-3, 150 warm-up iterations, mixup 0.2, no cutmix, label smoothing 0.1,
#      random erasing 0.25, drop path 0.1;
#   2. CamVid fine-tuning from that encoder, one schedule and seed for both: 1,000 iterations of 4 crops of 384x384 from
#      the 480x360 frames rescaled by 0.5-2.0 (11 epochs of the 367 training images), AdamW lr 4e-4 (head 10x),
#      100 warm-up iterations then poly decay, validation every 500 iterations on the 101 validation images;
#   3. export of each run's best checkpoint to results/weights/<run>.safetensors (bf16) and evaluation of the file.
# Every step resumes from its newest checkpoint and reuses a finished run, so rerunning the script (e.g. in the next
# session, after the processes ended) continues where it stopped. Runs are tracked in runs/full/workbook.db; logs go to
# runs/full/logs/.
#
# Usage: scripts/train-full.sh [segformer-b0 boostformer-b0]   (BOOSTFORMER_DATA: the data root, default ../shared/data;
#        BOOSTFORMER_CLI_DLL: see below)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${BOOSTFORMER_DATA:-$repo/../shared/data}"
[[ -d "$data/camvid" && -d "$data/tiny-imagenet-200" ]] || { echo "error: $data holds no camvid/ and tiny-imagenet-200/ (set BOOSTFORMER_DATA)" >&2; exit 2; }
# BOOSTFORMER_CLI_DLL: a frozen copy of the CLI's build output, so rebuilding the repo while the runs go does not swap
# assemblies under them (cp -r src/BoostFormer.Cli/bin/Release/net10.0 /somewhere; BOOSTFORMER_CLI_DLL=/somewhere/boostformer.dll).
dll="${BOOSTFORMER_CLI_DLL:-$repo/src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll}"
[[ -f "$dll" ]] || dotnet build "$repo/src/BoostFormer.Cli/BoostFormer.Cli.csproj" -c Release -v q -nologo >&2
db="$repo/runs/full/workbook.db"
logs="$repo/runs/full/logs"
mkdir -p "$logs"
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(segformer-b0 boostformer-b0)
# The data root goes in through the environment, not --root, so the runs' records do not depend on where it is mounted.
export BOOSTFORMER_DATA="$data" BOOSTFORMER_THREADS=1 OMP_NUM_THREADS=1 MALLOC_ARENA_MAX=2

one() {
  local m=$1
  dotnet "$dll" pretrain --model "$m" --iterations 3000 --batch-size 64 --lr 1e-3 --warmup 150 --mixup 0.2 --cutmix 0 \
    --label-smoothing 0.1 --random-erasing 0.25 --eval-interval 1000 --checkpoint-interval 250 --seed 0 --workers 1 --log-every 50 \
    --db "$db" --name "$m-tiny-imagenet-full" --resume --reuse
  local encoder
  encoder=$(ls -t "$repo"/runs/full/"$m"-tiny-imagenet-full/run-*/encoder.safetensors | head -n 1)
  dotnet "$dll" train --model "$m" --dataset camvid --pretrained "$encoder" --iterations 1000 --batch-size 4 --crop 384 \
    --lr 4e-4 --warmup 100 --eval-interval 500 --checkpoint-interval 100 --keep 2 --seed 0 --threads 1 --workers 1 --log-every 20 \
    --db "$db" --name "$m-camvid-full" --resume --reuse
  local best
  best=$(ls -t "$repo"/runs/full/"$m"-camvid-full/run-*/best.safetensors | head -n 1)
  dotnet "$dll" export --checkpoint "$best" --output "$repo/results/weights/$m-camvid-full.safetensors" --db "$db" --force
  dotnet "$dll" eval --checkpoint "$repo/results/weights/$m-camvid-full.safetensors" --dataset camvid
}

pids=()
for m in "${models[@]}"; do
  echo "$m: log $logs/$m.log"
  one "$m" > "$logs/$m.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
for m in "${models[@]}"; do tail -n 3 "$logs/$m.log"; done
exit $status
