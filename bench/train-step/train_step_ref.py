#!/usr/bin/python3
"""One SegFormer training step in plain PyTorch (HF layout, from ../segformer-latency/segformer_ref.py): forward on a
[B, 3, H, W] batch, cross-entropy of the logits bilinearly upsampled to the label size (ignore 255), backward, AdamW
step (lr 6e-5, weight decay 0.01), zero_grad. Prints median/min/max milliseconds per step after warm-up.

Usage: train_step_ref.py --model segformer-b0 --input 512x512 --batch 2 [--classes 150] [--threads N] [--warmup W] [--runs R] [--json]
       [--profile N] [--profile-shapes]   after timing, profile one more step (autograd profiler, use_kineto=False) and print the N operators
                       with the most self CPU time to stderr, like `boostformer train step-bench --profile N`
"""
import argparse, json, os, statistics, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "segformer-latency"))
from segformer_ref import CONFIGS, SegformerForSemanticSegmentation  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="segformer-b0")
    ap.add_argument("--input", default="512x512")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--classes", type=int, default=150)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--profile-shapes", action="store_true")
    a = ap.parse_args()
    variant = a.model.lower().replace("segformer-", "")
    if variant not in CONFIGS:
        raise SystemExit(f"--model must be segformer-b0..b5, got {a.model}")
    h, w = (int(v) for v in a.input.lower().split("x"))
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = SegformerForSemanticSegmentation(variant, a.classes).train()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-5, weight_decay=0.01)
    x = torch.randn(a.batch, 3, h, w)
    y = torch.randint(0, a.classes, (a.batch, h, w))
    def step():
        logits = model(x)
        up = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
        loss = F.cross_entropy(up, y, ignore_index=255)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    times = []
    for i in range(a.warmup + a.runs):
        t0 = time.perf_counter()
        loss = step()
        dt = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            times.append(dt)
    if a.profile > 0:
        with torch.autograd.profiler.profile(use_kineto=False, record_shapes=a.profile_shapes) as prof:
            step()
        print(prof.key_averages(group_by_input_shape=a.profile_shapes).table(sort_by="self_cpu_time_total", row_limit=a.profile), file=sys.stderr)
    out = {"model": a.model, "input": [a.batch, 3, h, w], "threads": torch.get_num_threads(),
           "median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": a.runs, "loss": float(loss)}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"pytorch train step {a.model} {a.batch}x{h}x{w} threads={out['threads']}: median {out['median_ms']:.1f} ms")


if __name__ == "__main__":
    main()
