#!/usr/bin/env bash
# Forward latency of SegFormer on our engine (boostformer bench), on the naive port of the HF graph on the same LibTorch
# (boostformer bench --naive), and on the same HF-layout model in plain PyTorch 1.13 (segformer_ref.py, /usr/bin/python3
# torch), same input, threads, warm-up and runs, in one run. Prints the ratios of the medians: naive/PyTorch (what the
# library version brings), ours/naive (what our code brings) and ours/PyTorch (lower is better; < 1 means we are faster).
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
# Three measurements per round, alternated so that a busy moment of the shared CPU hits all of them alike:
#   ours      boostformer bench (TorchSharp, LibTorch 2.10; SDPA attention, fused decoder)
#   naive     boostformer bench --naive (the same HF graph written plainly on the same LibTorch)
#   pytorch   segformer_ref.py on python3-torch 1.13.1 eager (the HF layout)
best=""
for ((i = 1; i <= repeat; i++)); do
  ours=$(dotnet "$dll" bench "${common[@]}")
  naive=$(dotnet "$dll" bench "${common[@]}" --naive)
  theirs=$("$py" "$here/segformer_ref.py" "${common[@]}")
  line=$("$py" - "$ours" "$naive" "$theirs" <<'PY'
import json, sys
o, n, t = (json.loads(a) for a in sys.argv[1:4])
print(f"ours median {o['median_ms']:.1f} ms (min {o['min_ms']:.1f}) | naive port {n['median_ms']:.1f} ms (min {n['min_ms']:.1f}) | "
      f"pytorch 1.13 {t['median_ms']:.1f} ms (min {t['min_ms']:.1f}) | "
      f"naive/pytorch {n['median_ms'] / t['median_ms']:.3f} | ours/naive {o['median_ms'] / n['median_ms']:.3f} | "
      f"ratio ours/pytorch {o['median_ms'] / t['median_ms']:.3f}")
PY
)
  echo "run $i: $line"
  r=${line##* }
  if [[ -z "$best" ]] || awk "BEGIN{exit !($r < $best)}"; then best=$r; fi
done
echo "best median ratio ours/pytorch: $best (machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
