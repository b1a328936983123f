"""Python side of bench/torch-ops/run.sh: same ops, same shapes, same thread count (BOOSTFORMER_THREADS), PyTorch 1.13.1.
Prints one line per op: "<name> <median ms>"."""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

threads = int(os.environ.get("BOOSTFORMER_THREADS") or os.cpu_count())
torch.set_num_threads(threads)
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30
torch.manual_seed(0)


def bench(op, warmup=10, inner=1, use_min=False):
    """Median ms per call (minimum with use_min: per-op overhead, where the minimum filters preemption)."""
    for _ in range(warmup):
        op()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            op()
        samples.append((time.perf_counter() - t0) * 1000 / inner)
    return min(samples) if use_min else statistics.median(samples)


with torch.inference_mode():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x64 = torch.randn(1, 64, 128, 128)
    w3, wdw, bias = torch.randn(64, 64, 3, 3), torch.randn(64, 1, 3, 3), torch.randn(64)
    t, lw, lb = torch.randn(16384, 64), torch.randn(64), torch.randn(64)
    s = torch.randn(1, 256, 32, 32)
    one, two = torch.randn(1), torch.randn(1)
    results = [
        ("matmul_1024", bench(lambda: a.matmul(b))),
        ("conv3x3_64ch_128", bench(lambda: F.conv2d(x64, w3, bias, 1, 1))),
        ("dwconv3x3_64ch_128", bench(lambda: F.conv2d(x64, wdw, bias, 1, 1, 1, 64))),
        ("layer_norm_16384x64", bench(lambda: F.layer_norm(t, (64,), lw, lb))),
        ("bilinear_256ch_32to128", bench(lambda: F.interpolate(s, size=(128, 128), mode="bilinear", align_corners=False))),
        ("add_1elem_us", 1000 * bench(lambda: one.add(two), warmup=5000, inner=2000, use_min=True)),
    ]
for name, ms in results:
    print(f"{name} {ms:.4f}")
