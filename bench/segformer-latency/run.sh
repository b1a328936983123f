#!/usr/bin/env bash
# Forward latency of SegFormer on our engine (boostformer bench) vs the same HF-layout model in plain PyTorch
# (segformer_ref.py, /usr/bin/python3 torch), same input, threads, warm-up and runs, in one run. Prints our/PyTorch ratio
# of the medians (lower is better for us; < 1 means we are faster).
#
# Usage: bench/segformer-latency/run.sh [--model segformer-b0] [--input 512x512] [--threads N] [--warmup W] [--runs R] [--repeat K]
# --repeat K alternates the two K times (ours, pytorch, ours, ...) and reports each pair and the best ratio, since the CPU
# may be shared.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
model=segformer-b0; input=512x512; threads=$(nproc); warmup=3; runs=10; repeat=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2;;
    --input) input="$2"; shift 2;;
    --threads) threads="$2"; shift 2;;
    --warmup) warmup="$2"; shift 2;;
    --runs) runs="$2"; shift 2;;
    --repeat) repeat="$2"; shift 2;;
    *) echo "unknown argument: $1" >&2; exit 2;;
  esac
done
py=/usr/bin/python3
dll="$repo/src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll"
if [[ ! -f "$dll" || -n "${BENCH_REBUILD:-}" ]]; then
  dotnet build "$repo/src/BoostFormer.Cli" -c Release -v q -nologo >&2
fi
common=(--model "$model" --input "$input" --threads "$threads" --warmup "$warmup" --runs "$runs" --json)
echo "model=$model input=$input threads=$threads warmup=$warmup runs=$runs repeat=$repeat" >&2
best=""
for ((i = 1; i <= repeat; i++)); do
  ours=$(dotnet "$dll" bench "${common[@]}")
  theirs=$("$py" "$here/segformer_ref.py" "${common[@]}")
  line=$("$py" - "$ours" "$theirs" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r = o["median_ms"] / t["median_ms"]
print(f"ours median {o['median_ms']:.1f} ms (min {o['min_ms']:.1f}, max {o['max_ms']:.1f}) | "
      f"pytorch median {t['median_ms']:.1f} ms (min {t['min_ms']:.1f}, max {t['max_ms']:.1f}) | ratio ours/pytorch {r:.3f}")
PY
)
  echo "run $i: $line"
  r=${line##* }
  if [[ -z "$best" ]] || awk "BEGIN{exit !($r < $best)}"; then best=$r; fi
done
echo "best ratio ours/pytorch: $best"
