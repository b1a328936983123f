#!/usr/bin/env bash
# Forward latency of SegFormer on our engine (boostformer bench), on the naive port of the HF graph on the same LibTorch
# (boostformer bench --naive), and on the same HF-layout model in plain PyTorch 1.13 (segformer_ref.py, /usr/bin/python3
# torch), same input, threads, warm-up and runs, in one run. Prints the ratios of the medians: naive/PyTorch (what the
# library version brings), ours/naive (what our code brings) and ours/PyTorch (lower is better; < 1 means we are faster).
#
# Also, in the same rounds: ours in bf16 (--precision bf16; bf16/pytorch and bf16/fp32), and with --pair B (e.g.
# --pair boostformer-b2 with --model segformer-b2) the optimised path of model B, printing model/B (how much faster B is on
# the same optimised path) and model-naive/B (B optimised against the model's graph as written, the graph the papers'
# FLOP counts describe). With --pair the MAC ratios of both comparisons are printed first (boostformer profile): on the
# same path the MAC ratio is the ceiling of the speed-up that fewer MACs can bring.
# Peak memory of each of ours (resident bytes above the level before the timed runs) is printed too.
#
# Usage: bench/segformer-latency/run.sh [--model segformer-b0] [--input 512x512] [--threads N] [--warmup W] [--runs R] [--repeat K] [--pair MODEL]
# --repeat K alternates the two K times (ours, pytorch, ours, ...) and reports each pair and the best ratio, since the CPU
# may be shared.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
model=segformer-b0; input=512x512; threads=$(nproc); warmup=3; runs=10; repeat=1; pair=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2;;
    --input) input="$2"; shift 2;;
    --threads) threads="$2"; shift 2;;
    --warmup) warmup="$2"; shift 2;;
    --runs) runs="$2"; shift 2;;
    --repeat) repeat="$2"; shift 2;;
    --pair) pair="$2"; shift 2;;
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
if [[ -n "$pair" ]]; then
  macs() { dotnet "$dll" profile --model "$1" --input "$input" --json | "$py" -c '
import json, sys
d = json.load(sys.stdin)
fuse = sum(m["macs"] for m in d["modules"] if m["path"] == "decode_head.linear_fuse")
print(d["macs"], d["macs"] - fuse)'; }
  read -r m_all m_dep < <(macs "$model")
  read -r p_all p_dep < <(macs "$pair")
  awk -v ma="$m_all" -v md="$m_dep" -v pa="$p_all" -v pd="$p_dep" -v m="$model" -v p="$pair" 'BEGIN{
    printf "MACs: %s %.2f G as written, %.2f G on the folded-decoder path; %s %.2f G (%.2f G)\n", m, ma/1e9, md/1e9, p, pa/1e9, pd/1e9;
    printf "MAC ratio %s/%s: %.2fx on the same (optimised) path, %.2fx against %s as written (the ceiling fewer MACs alone can give)\n", m, p, md/pd, ma/pd, m }'
fi
best=""
for ((i = 1; i <= repeat; i++)); do
  ours=$(dotnet "$dll" bench "${common[@]}")
  naive=$(dotnet "$dll" bench "${common[@]}" --naive)
  bf16=$(dotnet "$dll" bench "${common[@]}" --precision bf16)
  theirs=$("$py" "$here/segformer_ref.py" "${common[@]}")
  other='{}'
  if [[ -n "$pair" ]]; then
    other=$(dotnet "$dll" bench --model "$pair" --input "$input" --threads "$threads" --warmup "$warmup" --runs "$runs" --json)
  fi
  line=$("$py" - "$ours" "$naive" "$theirs" "$bf16" "$other" "$model" "$pair" <<'PY'
import json, sys
o, n, t, b, p = (json.loads(a) for a in sys.argv[1:6])
model, pair = sys.argv[6], sys.argv[7]
mib = lambda r: f"{r.get('peak_bytes', -1) / 2**20:.0f} MiB" if r.get('peak_bytes', -1) >= 0 else "n/a"
print(f"ours median {o['median_ms']:.1f} ms (min {o['min_ms']:.1f}, peak +{mib(o)}) | naive port {n['median_ms']:.1f} ms (min {n['min_ms']:.1f}, peak +{mib(n)}) | "
      f"bf16 {b['median_ms']:.1f} ms (min {b['min_ms']:.1f}, peak +{mib(b)}) | pytorch 1.13 {t['median_ms']:.1f} ms (min {t['min_ms']:.1f}) | "
      f"naive/pytorch {n['median_ms'] / t['median_ms']:.3f} | ours/naive {o['median_ms'] / n['median_ms']:.3f} | "
      f"bf16/fp32 {b['median_ms'] / o['median_ms']:.3f} | bf16/pytorch {b['median_ms'] / t['median_ms']:.3f} | "
      + (f"{pair} {p['median_ms']:.1f} ms (peak +{mib(p)}): {model}/{pair} speed-up {o['median_ms'] / p['median_ms']:.2f}x on the same path, "
         f"{n['median_ms'] / p['median_ms']:.2f}x against {model} as written; peak ratio {p.get('peak_bytes', 0) / max(1, o.get('peak_bytes', 1)):.2f} | " if pair else "")
      + f"ratio ours/pytorch {o['median_ms'] / t['median_ms']:.3f}")
PY
)
  echo "run $i: $line"
  r=${line##* }
  if [[ -z "$best" ]] || awk "BEGIN{exit !($r < $best)}"; then best=$r; fi
done
echo "best median ratio ours/pytorch: $best (machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
