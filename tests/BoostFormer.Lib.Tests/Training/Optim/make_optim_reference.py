#!/usr/bin/python3
"""Reference trajectories for the optimizer and scheduler tests, computed with PyTorch 1.13 (Debian python3-torch).

Run from the repository root:
    /usr/bin/python3 tests/BoostFormer.Lib.Tests/Training/Optim/make_optim_reference.py \
        > tests/BoostFormer.Lib.Tests/Training/Optim/OptimReferenceData.cs

It prints a C# file holding: the initial float32 parameters, the per-parameter weights of the synthetic gradient, the
parameters after every step of several optimizer configurations, and the learning rates PyTorch's schedulers produce
(the Hugging Face lambdas below are copied from transformers/optimization.py). Every float is printed with repr(), so
the C# literals are the exact float32/float64 values.

Synthetic gradient at step k (identical ops in the C# test, so the gradients are bit-identical):
    g = p * w ; g += 0.5 * cos(p) ; g *= (1 + 0.1 k)      and p2 gets NO gradient at step 2 (grad = None).
"""
import math
import numpy as np
import torch

assert torch.__version__.startswith("1.13"), torch.__version__
torch.set_num_threads(1)

SHAPES = [(3, 4), (5,), (2, 3)]


def initial():
    out = []
    for j, shape in enumerate(SHAPES):
        n = int(np.prod(shape))
        i = np.arange(n, dtype=np.float64)
        if j == 0:
            v = np.sin(0.7 * i + 0.3) * 0.8
        elif j == 1:
            v = np.cos(1.3 * i) * 0.5 - 0.1
        else:
            v = (i - 2.5) * 0.25
        out.append(v.astype(np.float32).reshape(shape))
    return out


def weights():
    out = []
    for j, shape in enumerate(SHAPES):
        n = int(np.prod(shape))
        i = np.arange(n, dtype=np.float64)
        out.append((1.0 + 0.37 * ((i * (j + 2)) % 5)).astype(np.float32).reshape(shape))
    return out


def set_grads(params, ws, k):
    with torch.no_grad():
        for j, (p, w) in enumerate(zip(params, ws)):
            if j == 2 and k == 2:
                p.grad = None
                continue
            g = torch.mul(p, w)
            g.add_(torch.cos(p), alpha=0.5)
            g.mul_(1.0 + 0.1 * k)
            p.grad = g


def run(make_opt, steps):
    params = [torch.tensor(a, requires_grad=True) for a in initial()]
    ws = [torch.tensor(a) for a in weights()]
    opt = make_opt(params)
    traj = []
    for k in range(steps):
        opt.zero_grad(set_to_none=True)
        set_grads(params, ws, k)
        opt.step()
        traj.append([p.detach().numpy().copy().ravel() for p in params])
    return traj


CASES = {
    "adamw_groups": (lambda ps: torch.optim.AdamW(
        [{"params": ps[:2]},
         {"params": ps[2:], "lr": 5e-2, "weight_decay": 0.0, "betas": (0.8, 0.99), "eps": 1e-6}],
        lr=1e-2, weight_decay=0.1, foreach=False), 6),
    "adamw_amsgrad": (lambda ps: torch.optim.AdamW(ps, lr=3e-2, weight_decay=0.05, amsgrad=True, foreach=False), 6),
    "adamw_maximize": (lambda ps: torch.optim.AdamW(ps, lr=1e-2, maximize=True, foreach=False), 4),
    "sgd_momentum_groups": (lambda ps: torch.optim.SGD(
        [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.2, "momentum": 0.5}],
        lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3, foreach=False), 6),
    "sgd_nesterov": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2, foreach=False), 6),
    "sgd_plain": (lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False), 3),
}


# ---- transformers/optimization.py (v4.x), verbatim lambdas
def get_constant_schedule_with_warmup(optimizer, num_warmup_steps, last_epoch=-1):
    def lr_lambda(current_step: int):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1.0, num_warmup_steps))
        return 1.0
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch=last_epoch)


def get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5, last_epoch=-1):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def get_polynomial_decay_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, lr_end=1e-7, power=1.0, last_epoch=-1):
    lr_init = optimizer.defaults["lr"]
    if not (lr_init > lr_end):
        raise ValueError(f"lr_end ({lr_end}) must be be smaller than initial lr ({lr_init})")

    def lr_lambda(current_step: int):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        elif current_step > num_training_steps:
            return lr_end / lr_init  # as LambdaLR multiplies by lr_init
        else:
            lr_range = lr_init - lr_end
            decay_steps = num_training_steps - num_warmup_steps
            pct_remaining = 1 - (current_step - num_warmup_steps) / decay_steps
            decay = lr_range * pct_remaining**power + lr_end
            return decay / lr_init  # as LambdaLR multiplies by lr_init
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def two_group_sgd():
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)


SCHEDULES = {
    "step_lr": (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12),
    "poly_warmup": (lambda o: get_polynomial_decay_schedule_with_warmup(o, 5, 20, lr_end=1e-4, power=2.0), 25),
    "poly_warmup_linear": (lambda o: get_polynomial_decay_schedule_with_warmup(o, 3, 10), 14),
    "cosine_warmup": (lambda o: get_cosine_schedule_with_warmup(o, 3, 15), 20),
    "constant_warmup": (lambda o: get_constant_schedule_with_warmup(o, 4), 8),
}


def run_schedule(make, steps):
    o = two_group_sgd()
    s = make(o)
    lrs = [list(s.get_last_lr())]
    for _ in range(steps):
        o.step()
        s.step()
        lrs.append(list(s.get_last_lr()))
    return lrs


def arr(values):
    return "new double[] { " + ", ".join(repr(float(v)) for v in values) + " }"


def main():
    print("// <auto-generated>")
    print("// Produced by tests/BoostFormer.Lib.Tests/Training/Optim/make_optim_reference.py with /usr/bin/python3,")
    print(f"// torch {torch.__version__}, numpy {np.__version__}. Do not edit: re-run the script (see its docstring).")
    print("// </auto-generated>")
    print("namespace BoostFormer.Lib.Tests.Training.Optim;")
    print()
    print("internal static class OptimReferenceData")
    print("{")
    print("    public static readonly long[][] Shapes = { " + ", ".join("new long[] { " + ", ".join(map(str, s)) + " }" for s in SHAPES) + " };")
    print("    public static readonly double[][] Initial = {")
    for a in initial():
        print("        " + arr(a.ravel()) + ",")
    print("    };")
    print("    public static readonly double[][] Weights = {")
    for a in weights():
        print("        " + arr(a.ravel()) + ",")
    print("    };")
    print("    /// <summary>case → step → parameter → flattened values after that step.</summary>")
    print("    public static readonly Dictionary<string, double[][][]> Trajectories = new()")
    print("    {")
    for name, (make, steps) in CASES.items():
        traj = run(make, steps)
        print(f"        [\"{name}\"] = new double[][][]")
        print("        {")
        for st in traj:
            print("            new double[][] { " + ", ".join(arr(p) for p in st) + " },")
        print("        },")
    print("    };")
    print("    /// <summary>schedule → [initial, after step 1, ...] → lr of each group (groups start at 0.1 and 1.0; defaults lr 0.1).</summary>")
    print("    public static readonly Dictionary<string, double[][]> SchedulerLrs = new()")
    print("    {")
    for name, (make, steps) in SCHEDULES.items():
        lrs = run_schedule(make, steps)
        print(f"        [\"{name}\"] = new double[][] {{ " + ", ".join(arr(l) for l in lrs) + " },")
    print("    };")
    print("}")


if __name__ == "__main__":
    main()
