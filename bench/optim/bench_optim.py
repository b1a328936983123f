"""Python side of bench/optim/run.sh: the same SegFormer-B0-shaped parameter list, PyTorch 1.13 AdamW/SGD with the
single-tensor implementation (1.13's default, foreach=None -> False) and, for reference, foreach=True.
Prints "<name> <median ms per step>"."""
import os
import statistics
import sys
import time

import torch

threads = int(os.environ.get("BOOSTFORMER_THREADS") or os.cpu_count())
torch.set_num_threads(threads)
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30
torch.manual_seed(0)


def shapes():
    s = []
    dims, srs, ks = (32, 64, 160, 256), (8, 4, 2, 1), (7, 3, 3, 3)
    prev = 3
    for i, d in enumerate(dims):
        s += [(d, prev, ks[i], ks[i]), (d,), (d,), (d,)]
        for _ in range(2):
            s += [(d,), (d,), (d, d), (d,), (d, d), (d,), (d, d), (d,)]
            if srs[i] > 1:
                s += [(d, d, srs[i], srs[i]), (d,), (d,), (d,)]
            s += [(d, d), (d,), (d,), (d,), (4 * d, d), (4 * d,), (4 * d, 1, 3, 3), (4 * d,), (d, 4 * d), (d,)]
        s += [(d,), (d,)]
        prev = d
    for d in dims:
        s += [(256, d), (256,)]
    s += [(256, 1024, 1, 1), (256,), (256,), (150, 256, 1, 1), (150,)]
    return s


ps = []
for sh in shapes():
    p = torch.randn(sh).requires_grad_()
    p.grad = torch.randn(sh)
    ps.append(p)
print(f"tensors {len(ps)} parameters {sum(p.numel() for p in ps)}", file=sys.stderr)


def time_steps(opt):
    for _ in range(5):
        opt.step()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        opt.step()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


decay = [p for p in ps if p.dim() > 1]
no_decay = [p for p in ps if p.dim() <= 1]
for foreach, suffix in ((False, ""), (True, "_foreach")):
    adamw = torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=6e-5, weight_decay=0.01, foreach=foreach)
    print(f"adamw_step{suffix} {time_steps(adamw):.4f}")
    sgd = torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=1e-4, foreach=foreach)
    print(f"sgd_momentum_step{suffix} {time_steps(sgd):.4f}")
