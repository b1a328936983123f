#!/usr/bin/env bash
# SegFormer training step (forward + loss + backward + AdamW) on our engine (`boostformer train step-bench`), on the naive
# port (`--naive`: attention as matmul + softmax + matmul) on the same LibTorch, and in plain PyTorch 1.13
# (train_step_ref.py, /usr/bin/python3 torch), same batch, input, threads, warm-up and runs, in one run. Prints the
# ratios of the median step times (< 1 means we are faster). Also bf16 mixed precision (`--precision bf16`: bf16 forward and
# backward, fp32 master weights and AdamW) in the same rounds: bf16/fp32 and bf16/pytorch.
#
# Usage: bench/train-step/run.sh [--model segformer-b0] [--input 512x512] [--batch 2] [--threads N] [--warmup W] [--runs R] [--repeat K]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
model=segformer-b0; input=512x512; batch=2; threads=$(nproc); warmup=2; runs=5; repeat=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2;;
    --input) input="$2"; shift 2;;
    --batch) batch="$2"; shift 2;;
    --threads) threads="$2"; shift 2;;
    --warmup) warmup="$2"; shift 2;;
    --runs) runs="$2"; shift 2;;
    --repeat) repeat="$2"; shift 2;;
    *) echo "unknown argument: $1" >&2; exit 2;;
  esac
done
py=/usr/bin/python3
[[ -f "$here/../segformer-latency/segformer_ref.py" ]] || { echo "needs bench/segformer-latency/segformer_ref.py (the HF-layout reference model)" >&2; exit 2; }
dll="$repo/src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll"
if [[ ! -f "$dll" || -n "${BENCH_REBUILD:-}" ]]; then
  dotnet build "$repo/src/BoostFormer.Cli" -c Release -v q -nologo >&2
fi
echo "model=$model input=$input batch=$batch threads=$threads warmup=$warmup runs=$runs repeat=$repeat" >&2
best=""
args=(--model "$model" --input "$input" --threads "$threads" --warmup "$warmup" --runs "$runs" --json)
for ((i = 1; i <= repeat; i++)); do
  ours=$(dotnet "$dll" train step-bench "${args[@]}" --batch-size "$batch")
  naive=$(dotnet "$dll" train step-bench "${args[@]}" --batch-size "$batch" --naive)
  bf16=$(dotnet "$dll" train step-bench "${args[@]}" --batch-size "$batch" --precision bf16)
  theirs=$("$py" "$here/train_step_ref.py" "${args[@]}" --batch "$batch")
  line=$("$py" - "$ours" "$naive" "$theirs" "$bf16" <<'PY'
import json, sys
o, n, t, b = (json.loads(a) for a in sys.argv[1:5])
print(f"ours median {o['median_ms']:.0f} ms (min {o['min_ms']:.0f}) | naive port {n['median_ms']:.0f} ms (min {n['min_ms']:.0f}) | "
      f"bf16 mixed {b['median_ms']:.0f} ms (min {b['min_ms']:.0f}) | pytorch 1.13 {t['median_ms']:.0f} ms (min {t['min_ms']:.0f}) | "
      f"naive/pytorch {n['median_ms'] / t['median_ms']:.3f} | ours/naive {o['median_ms'] / n['median_ms']:.3f} | "
      f"bf16/fp32 {b['median_ms'] / o['median_ms']:.3f} | bf16/pytorch {b['median_ms'] / t['median_ms']:.3f} | ratio ours/pytorch {o['median_ms'] / t['median_ms']:.3f}")
PY
)
  echo "run $i: $line"
  r=${line##* }
  if [[ -z "$best" ]] || awk "BEGIN{exit !($r < $best)}"; then best=$r; fi
done
echo "best ratio ours/pytorch: $best"
