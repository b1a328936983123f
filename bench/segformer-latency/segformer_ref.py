#!/usr/bin/python3
"""Plain-PyTorch SegFormer in the Hugging Face layout (state-dict keys as transformers' SegformerForSemanticSegmentation),
used as the latency (and MAC-count) reference for `boostformer bench` / `boostformer profile`. transformers is not needed.

Usage: segformer_ref.py --model segformer-b0 --input 512x512 [--classes 150] [--threads N] [--warmup W] [--runs R]
                        [--count] [--json]
"""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # hidden sizes, depths, decoder width (heads [1,2,5,8], sr [8,4,2,1], patch [7,3,3,3], stride [4,2,2,2])
    "b0": ([32, 64, 160, 256], [2, 2, 2, 2], 256),
    "b1": ([64, 128, 320, 512], [2, 2, 2, 2], 256),
    "b2": ([64, 128, 320, 512], [3, 4, 6, 3], 768),
    "b3": ([64, 128, 320, 512], [3, 4, 18, 3], 768),
    "b4": ([64, 128, 320, 512], [3, 8, 27, 3], 768),
    "b5": ([64, 128, 320, 512], [3, 6, 40, 3], 768),
}
HEADS, SR, PATCH, STRIDE, MLP_RATIO = [1, 2, 5, 8], [8, 4, 2, 1], [7, 3, 3, 3], [4, 2, 2, 2], 4
ATTN_MACS = [0]  # QK^T and AV multiply-accumulates of the last forward (for --count)


class SegformerOverlapPatchEmbeddings(nn.Module):
    def __init__(self, patch, stride, cin, hidden):
        super().__init__()
        self.proj = nn.Conv2d(cin, hidden, patch, stride, patch // 2)
        self.layer_norm = nn.LayerNorm(hidden)

    def forward(self, x):
        x = self.proj(x)
        _, _, h, w = x.shape
        return self.layer_norm(x.flatten(2).transpose(1, 2)), h, w


class SegformerEfficientSelfAttention(nn.Module):
    def __init__(self, hidden, heads, sr):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query, self.key, self.value = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.sr_ratio = sr
        if sr > 1:
            self.sr = nn.Conv2d(hidden, hidden, sr, sr)
            self.layer_norm = nn.LayerNorm(hidden)

    def split(self, x):
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, h, w):
        b, n, c = x.shape
        q = self.split(self.query(x))
        if self.sr_ratio > 1:
            kv = x.permute(0, 2, 1).reshape(b, c, h, w)
            kv = self.layer_norm(self.sr(kv).reshape(b, c, -1).permute(0, 2, 1))
        else:
            kv = x
        k, v = self.split(self.key(kv)), self.split(self.value(kv))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = scores.softmax(-1)
        ctx = torch.matmul(probs, v)
        ATTN_MACS[0] += scores.numel() * self.head_dim + ctx.numel() * probs.shape[-1]
        return ctx.permute(0, 2, 1, 3).reshape(b, n, c)


class SegformerSelfOutput(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, x):
        return self.dense(x)


class SegformerAttention(nn.Module):
    def __init__(self, hidden, heads, sr):
        super().__init__()
        self.self = SegformerEfficientSelfAttention(hidden, heads, sr)
        self.output = SegformerSelfOutput(hidden)

    def forward(self, x, h, w):
        return self.output(self.self(x, h, w))


class SegformerDWConv(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x, h, w):
        b, n, c = x.shape
        x = self.dwconv(x.transpose(1, 2).view(b, c, h, w))
        return x.flatten(2).transpose(1, 2)


class SegformerMixFFN(nn.Module):
    def __init__(self, hidden, inner):
        super().__init__()
        self.dense1 = nn.Linear(hidden, inner)
        self.dwconv = SegformerDWConv(inner)
        self.intermediate_act_fn = nn.GELU()
        self.dense2 = nn.Linear(inner, hidden)

    def forward(self, x, h, w):
        return self.dense2(self.intermediate_act_fn(self.dwconv(self.dense1(x), h, w)))


class SegformerLayer(nn.Module):
    def __init__(self, hidden, heads, sr):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(hidden)
        self.attention = SegformerAttention(hidden, heads, sr)
        self.layer_norm_2 = nn.LayerNorm(hidden)
        self.mlp = SegformerMixFFN(hidden, hidden * MLP_RATIO)

    def forward(self, x, h, w):  # stochastic depth is the identity in eval
        x = x + self.attention(self.layer_norm_1(x), h, w)
        return x + self.mlp(self.layer_norm_2(x), h, w)


class SegformerEncoder(nn.Module):
    def __init__(self, hidden, depths):
        super().__init__()
        cins = [3] + hidden[:-1]
        self.patch_embeddings = nn.ModuleList(SegformerOverlapPatchEmbeddings(PATCH[i], STRIDE[i], cins[i], hidden[i]) for i in range(4))
        self.block = nn.ModuleList(nn.ModuleList(SegformerLayer(hidden[i], HEADS[i], SR[i]) for _ in range(depths[i])) for i in range(4))
        self.layer_norm = nn.ModuleList(nn.LayerNorm(h) for h in hidden)

    def forward(self, x):
        outs = []
        for emb, blocks, norm in zip(self.patch_embeddings, self.block, self.layer_norm):
            x, h, w = emb(x)
            for layer in blocks:
                x = layer(x, h, w)
            x = norm(x)
            x = x.reshape(x.shape[0], h, w, -1).permute(0, 3, 1, 2).contiguous()
            outs.append(x)
        return outs


class SegformerModel(nn.Module):
    def __init__(self, hidden, depths):
        super().__init__()
        self.encoder = SegformerEncoder(hidden, depths)

    def forward(self, x):
        return self.encoder(x)


class SegformerMLP(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.proj = nn.Linear(cin, dim)

    def forward(self, x):
        return self.proj(x.flatten(2).transpose(1, 2))


class SegformerDecodeHead(nn.Module):
    def __init__(self, hidden, dim, classes):
        super().__init__()
        self.linear_c = nn.ModuleList(SegformerMLP(h, dim) for h in hidden)
        self.linear_fuse = nn.Conv2d(4 * dim, dim, 1, bias=False)
        self.batch_norm = nn.BatchNorm2d(dim)
        self.activation = nn.ReLU()
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Conv2d(dim, classes, 1)

    def forward(self, feats):
        b, size = feats[0].shape[0], feats[0].shape[2:]
        ups = []
        for f, mlp in zip(feats, self.linear_c):
            h, w = f.shape[2:]
            y = mlp(f).permute(0, 2, 1).reshape(b, -1, h, w)
            ups.append(F.interpolate(y, size=size, mode="bilinear", align_corners=False))
        x = self.linear_fuse(torch.cat(ups[::-1], dim=1))
        x = self.dropout(self.activation(self.batch_norm(x)))
        return self.classifier(x)


class SegformerForSemanticSegmentation(nn.Module):
    def __init__(self, variant, classes):
        super().__init__()
        hidden, depths, dim = CONFIGS[variant]
        self.segformer = SegformerModel(hidden, depths)
        self.decode_head = SegformerDecodeHead(hidden, dim, classes)

    def forward(self, x):
        return self.decode_head(self.segformer(x))


def count_macs(model, x):
    macs = {"conv": 0, "linear": 0}

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs["conv"] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs["linear"] += out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    ATTN_MACS[0] = 0
    with torch.inference_mode():
        model(x)
    for h in hs:
        h.remove()
    macs["attention"] = ATTN_MACS[0]
    return macs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="segformer-b0")
    ap.add_argument("--input", default="512x512")
    ap.add_argument("--classes", type=int, default=150)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--count", action="store_true", help="print params and MACs instead of timing")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    variant = a.model.lower().replace("segformer-", "")
    if variant not in CONFIGS:
        raise SystemExit(f"--model must be segformer-b0..b5, got {a.model}")
    h, w = (int(v) for v in a.input.lower().split("x"))
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = SegformerForSemanticSegmentation(variant, a.classes).eval()
    x = torch.randn(1, 3, h, w)
    params = sum(p.numel() for p in model.parameters())
    if a.count:
        m = count_macs(model, x)
        out = {"model": a.model, "params": params, "macs": m["conv"] + m["linear"] + m["attention"], **{k + "_macs": v for k, v in m.items()}}
        print(json.dumps(out) if a.json else out)
        return
    times = []
    with torch.inference_mode():
        for i in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            model(x)
            dt = (time.perf_counter() - t0) * 1000
            if i >= a.warmup:
                times.append(dt)
    out = {"model": a.model, "input": [1, 3, h, w], "threads": torch.get_num_threads(), "params": params,
           "median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": a.runs}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"pytorch {a.model} {h}x{w} threads={out['threads']}: median {out['median_ms']:.1f} ms, "
              f"min {out['min_ms']:.1f}, max {out['max_ms']:.1f} ({a.runs} runs)")


if __name__ == "__main__":
    main()
