#!/usr/bin/python3
"""Reference values for the model-zoo tests, computed with PyTorch (python3-torch 1.13) and NumPy — not with our code.

Run with Debian's python (/usr/bin/python3 has torch and numpy):
    /usr/bin/python3 tests/BoostFormer.Lib.Tests/Models/Fixtures/generate_zoo_fixtures.py
Writes the *.safetensors files next to this script (a few KB each); the committed files are what the tests compare
against. Rerun only when this script changes. Every module here is an independent PyTorch implementation written from
the papers / shared/specs/seed001-variants.md, with the state-dict key names of the reference code:

- lsra.safetensors         PVTv2 linear SRA as the NOTA team builds it (query, kv, 7x7 adaptive pool, 1x1 sr, LN, GELU),
                           no output projection; 2 heads, C=32, 10x12 grid, batch 2.
- dest_mix_ffn.safetensors DEST Mix-FFN (conv1, batch_norm1, dwconv.dwconv, batch_norm2, ReLU, conv2), eval mode with
                           non-trivial running statistics, and train mode (batch statistics).
- dest_attention.safetensors DEST simplified attention (q, k, sr, norm1, proj): max over keys, mean token as value; sr 2.
- msca.safetensors         SegNeXt MSCA spatial attention (proj_1, GELU, spatial_gating_unit.conv0..conv3, proj_2), no shortcut.
- nmf.safetensors          NMF2D multiplicative updates in float64 NumPy from given bases (forward), and the one-step
                           gradient of sum(out * g) w.r.t. x from PyTorch.
- dice_cwd.safetensors     mmseg 0.x Dice loss (smooth 1, exponent 2, ignore 255), CE + Dice, and channel-wise
                           distillation (tau 4, loss weight 3) with its gradient w.r.t. the student logits.
- nota-mini/               a check-parity fixture holding only encoder hidden states: the NOTA final model's layout at
                           reduced widths (LSRA without output projection, DEST Mix-FFN, HamDecoder), 64x48 input.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "Fixtures"))
from safetensors_io import save  # noqa: E402  (the fixtures' one safetensors writer)


def with_state(prefix, module, extra):
    d = {prefix + k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    d.update(extra)
    return d


def randomize(module):
    """Every parameter and BN statistic non-trivial (not the default init)."""
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for n, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.1) + (1.0 if n.endswith("norm.weight") else 0.0))
        for n, b in module.named_buffers():
            if n.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif n.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)


# ----------------------------------------------------------------------------------------------------- LSRA
class Lsra(nn.Module):
    def __init__(self, c, heads, pool=7):
        super().__init__()
        self.h, self.c = heads, c
        self.query = nn.Linear(c, c)
        self.kv = nn.Linear(c, 2 * c)
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.sr = nn.Conv2d(c, c, 1)
        self.layer_norm = nn.LayerNorm(c)
        self.act = nn.GELU()

    def forward(self, x, hh, ww):
        b, n, c = x.shape
        d = c // self.h
        q = self.query(x).reshape(b, n, self.h, d).permute(0, 2, 1, 3)
        m = x.permute(0, 2, 1).reshape(b, c, hh, ww)
        r = self.act(self.layer_norm(self.sr(self.pool(m)).reshape(b, c, -1).permute(0, 2, 1)))
        kv = self.kv(r).reshape(b, -1, 2, self.h, d).permute(2, 0, 3, 1, 4)
        a = (q @ kv[0].transpose(-1, -2) / math.sqrt(d)).softmax(-1)
        return (a @ kv[1]).permute(0, 2, 1, 3).reshape(b, n, c)


# ----------------------------------------------------------------------------------------------------- DEST Mix-FFN
class DWConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 3, 1, 1, groups=c)

    def forward(self, x):
        return self.dwconv(x)


class DestMixFFN(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.conv1 = nn.Conv2d(c, hidden, 1)
        self.batch_norm1 = nn.BatchNorm2d(hidden)
        self.dwconv = DWConv(hidden)
        self.batch_norm2 = nn.BatchNorm2d(hidden)
        self.activation = nn.ReLU()
        self.conv2 = nn.Conv2d(hidden, c, 1)

    def forward(self, x, hh, ww):  # tokens in, tokens out
        b, n, c = x.shape
        m = x.transpose(1, 2).reshape(b, c, hh, ww)
        m = self.conv2(self.activation(self.batch_norm2(self.dwconv(self.batch_norm1(self.conv1(m))))))
        return m.flatten(2).transpose(1, 2)


# ----------------------------------------------------------------------------------------------------- DEST attention
class DestAttention(nn.Module):
    def __init__(self, c, heads, sr):
        super().__init__()
        self.h, self.srr = heads, sr
        self.q = nn.Conv1d(c, c, 1)
        self.k = nn.Conv1d(c, c, 1)
        self.proj = nn.Conv1d(c, c, 1)
        if sr > 1:
            self.sr = nn.Conv2d(c, c, sr, sr)
            self.norm1 = nn.BatchNorm1d(c)

    def forward(self, tokens, hh, ww):
        x = tokens.transpose(1, 2)
        b, c, n = x.shape
        d = c // self.h
        q = self.q(x).reshape(b, self.h, d, n).permute(0, 1, 3, 2)
        if self.srr > 1:
            x_ = self.norm1(self.sr(x.reshape(b, c, hh, ww)).reshape(b, c, -1))
            k = self.k(x_).reshape(b, self.h, d, -1)
        else:
            k = self.k(x).reshape(b, self.h, d, -1)
        v = x.mean(2, keepdim=True).repeat(1, 1, self.h).transpose(-2, -1)
        a = ((q @ k) * d ** -0.5).max(-1)[0]
        out = (a.transpose(-2, -1) @ v).transpose(-2, -1)
        return self.proj(out).transpose(1, 2)


# ----------------------------------------------------------------------------------------------------- MSCA
class AttentionModule(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv0 = nn.Conv2d(c, c, 5, padding=2, groups=c)
        for i, k in enumerate((7, 11, 21)):
            setattr(self, f"conv{i}_1", nn.Conv2d(c, c, (1, k), padding=(0, k // 2), groups=c))
            setattr(self, f"conv{i}_2", nn.Conv2d(c, c, (k, 1), padding=(k // 2, 0), groups=c))
        self.conv3 = nn.Conv2d(c, c, 1)

    def forward(self, x):
        a = self.conv0(x)
        s = a + self.conv0_2(self.conv0_1(a)) + self.conv1_2(self.conv1_1(a)) + self.conv2_2(self.conv2_1(a))
        return self.conv3(s) * x


class Msca(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj_1 = nn.Conv2d(c, c, 1)
        self.activation = nn.GELU()
        self.spatial_gating_unit = AttentionModule(c)
        self.proj_2 = nn.Conv2d(c, c, 1)

    def forward(self, x):
        return self.proj_2(self.spatial_gating_unit(self.activation(self.proj_1(x))))


# ----------------------------------------------------------------------------------------------------- NMF2D
def nmf_numpy(x, bases, steps, eps):
    """x [BS, D, N] >= 0, bases [BS, D, R]; returns the reconstruction after steps + one coefficient update."""
    x = x.astype(np.float64)
    b = bases.astype(np.float64)
    xt = np.transpose(x, (0, 2, 1))
    logits = xt @ b
    e = np.exp(logits - logits.max(-1, keepdims=True))
    c = e / e.sum(-1, keepdims=True)
    for _ in range(steps):
        c = c * (xt @ b) / (c @ (np.transpose(b, (0, 2, 1)) @ b) + eps)
        b = b * (x @ c) / (b @ (np.transpose(c, (0, 2, 1)) @ c) + eps)
    c = c * (xt @ b) / (c @ (np.transpose(b, (0, 2, 1)) @ b) + eps)
    return b @ np.transpose(c, (0, 2, 1))


def nmf_torch(x, bases, steps, eps):
    bsz, ch, hh, ww = x.shape
    X = x.reshape(bsz, ch, hh * ww)
    with torch.no_grad():
        b = bases.clone()
        c = torch.softmax(X.transpose(1, 2) @ b, -1)
        for _ in range(steps):
            c = c * (X.transpose(1, 2) @ b) / (c @ (b.transpose(1, 2) @ b) + eps)
            b = b * (X @ c) / (b @ (c.transpose(1, 2) @ c) + eps)
    c = c * (X.transpose(1, 2) @ b) / (c @ (b.transpose(1, 2) @ b) + eps)
    return (b @ c.transpose(1, 2)).reshape(bsz, ch, hh, ww)


# ----------------------------------------------------------------------------------------------------- losses
def dice_mmseg(logits, labels, ignore=255, smooth=1.0, exponent=2):
    """mmseg 0.x DiceLoss (use_sigmoid=False): softmax, one-hot, per class 1 - (2·Σpt + s)/(Σp^e + Σt^e + s) over the
    valid pixels of each image, averaged over classes, then over the batch."""
    n, k = logits.shape[:2]
    p = logits.softmax(1)
    valid = (labels != ignore).float()
    t = F.one_hot(labels.clamp(0, k - 1) * (labels != ignore).long(), k).permute(0, 3, 1, 2).float()
    p = p.reshape(n, k, -1)
    t = t.reshape(n, k, -1)
    v = valid.reshape(n, 1, -1)
    num = 2 * (p * t * v).sum(2) + smooth
    den = (p.pow(exponent) * v).sum(2) + (t.pow(exponent) * v).sum(2) + smooth
    return (1 - num / den).mean(1).mean()


def cwd(student, teacher, tau, weight):
    n, c, h, w = student.shape
    ps = F.log_softmax(student.reshape(n * c, -1) / tau, 1)
    pt = F.softmax(teacher.detach().reshape(n * c, -1) / tau, 1)
    return weight * tau * tau * (pt * (pt.log() - ps)).sum() / (n * c)


# ----------------------------------------------------------------------------------------------------- nota-mini
class Patch(nn.Module):
    def __init__(self, k, s, cin, c):
        super().__init__()
        self.proj = nn.Conv2d(cin, c, k, s, k // 2)
        self.layer_norm = nn.LayerNorm(c)

    def forward(self, x):
        x = self.proj(x)
        _, _, h, w = x.shape
        return self.layer_norm(x.flatten(2).transpose(1, 2)), h, w


class Holder(nn.Module):
    def __init__(*args, **mods):
        holder = args[0]
        super(Holder, holder).__init__()
        for k, v in mods.items():
            setattr(holder, k, v)


class Layer(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(c)
        self.attention = Holder(self=Lsra(c, heads))
        self.layer_norm_2 = nn.LayerNorm(c)
        self.mlp = DestMixFFN(c, 4 * c)

    def forward(self, x, h, w):
        x = x + getattr(self.attention, "self")(self.layer_norm_1(x), h, w)
        return x + self.mlp(self.layer_norm_2(x), h, w)


class NotaMini(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hs, ds, hd = cfg["hidden_sizes"], cfg["depths"], cfg["num_attention_heads"]
        enc = Holder(
            patch_embeddings=nn.ModuleList([Patch(cfg["patch_sizes"][i], cfg["strides"][i], 3 if i == 0 else hs[i - 1], hs[i]) for i in range(4)]),
            block=nn.ModuleList([nn.ModuleList([Layer(hs[i], hd[i]) for _ in range(ds[i])]) for i in range(4)]),
            layer_norm=nn.ModuleList([nn.LayerNorm(hs[i]) for i in range(4)]))
        self.segformer = Holder(encoder=enc)
        dh = cfg["decoder_hidden_size"]
        self.decode_head = Holder(classifier=nn.Sequential(nn.Dropout2d(0.1), nn.Conv2d(dh, cfg["num_labels"], 1)),
                                  squeeze=Holder(conv=nn.Conv2d(sum(hs[1:]), dh, 1, bias=False)))

    def hidden_states(self, x):
        enc = self.segformer.encoder
        out = []
        for i in range(4):
            t, h, w = enc.patch_embeddings[i](x)
            for layer in enc.block[i]:
                t = layer(t, h, w)
            t = enc.layer_norm[i](t)
            x = t.reshape(t.shape[0], h, w, -1).permute(0, 3, 1, 2).contiguous()
            out.append(x)
        return out


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(7)

    # LSRA
    m = Lsra(32, 2)
    randomize(m)
    x = torch.randn(2, 120, 32, generator=g)
    save(os.path.join(here, "lsra.safetensors"), with_state("state.", m, {"x": x, "out": m(x, 10, 12)}))

    # DEST Mix-FFN: eval and train mode
    m = DestMixFFN(16, 64)
    randomize(m)
    x = torch.randn(2, 7 * 9, 16, generator=g)
    m.eval()
    out_eval = m(x, 7, 9)
    m.train()
    out_train = m(x, 7, 9)
    m2 = DestMixFFN(16, 64)
    randomize(m2)
    save(os.path.join(here, "dest_mix_ffn.safetensors"), with_state("state.", m2, {"x": x, "out_eval": out_eval, "out_train": out_train}))

    # DEST attention (sr 2), eval mode
    m = DestAttention(24, 3, 2)
    randomize(m)
    m.eval()
    x = torch.randn(2, 8 * 6, 24, generator=g)
    save(os.path.join(here, "dest_attention.safetensors"), with_state("state.", m, {"x": x, "out": m(x, 8, 6)}))

    # MSCA
    m = Msca(8)
    randomize(m)
    x = torch.randn(2, 8, 23, 17, generator=g)
    save(os.path.join(here, "msca.safetensors"), with_state("state.", m, {"x": x, "out": m(x)}))

    # NMF2D
    x = torch.rand(2, 16, 6, 5, generator=g)
    bases = F.normalize(torch.rand(2, 16, 4, generator=g), dim=1)
    ref = nmf_numpy(x.reshape(2, 16, 30).numpy(), bases.numpy(), 3, 1e-6).reshape(2, 16, 6, 5)
    xg = x.clone().requires_grad_(True)
    gout = torch.randn(2, 16, 6, 5, generator=g)
    y = nmf_torch(xg, bases, 3, 1e-6)
    (y * gout).sum().backward()
    save(os.path.join(here, "nmf.safetensors"), {"x": x, "bases": bases, "out": torch.from_numpy(ref).float(),
                                                   "out_f64": torch.from_numpy(ref), "grad_out": gout, "grad_x": xg.grad})

    # Dice, CE + Dice, CWD
    logits = torch.randn(2, 5, 6, 7, generator=g)
    labels = torch.randint(0, 5, (2, 6, 7), generator=g)
    labels[0, 0, :3] = 255
    labels[1, 4, 2] = 255
    lg = logits.clone().requires_grad_(True)
    dice = dice_mmseg(lg, labels)
    dice.backward()
    ce = F.cross_entropy(logits, labels, ignore_index=255)
    teacher = torch.randn(2, 5, 6, 7, generator=g) * 2
    sg = logits.clone().requires_grad_(True)
    loss_cwd = cwd(sg, teacher, 4.0, 3.0)
    loss_cwd.backward()
    save(os.path.join(here, "dice_cwd.safetensors"), {
        "logits": logits, "labels": labels, "dice": dice.detach().reshape(1), "dice_grad": lg.grad,
        "ce_dice": (ce + dice.detach()).reshape(1), "teacher": teacher, "cwd": loss_cwd.detach().reshape(1), "cwd_grad": sg.grad,
        "cwd_tau1": cwd(logits, teacher, 1.0, 1.0).reshape(1)})

    # nota-mini check-parity fixture (hidden states only)
    cfg = dict(model="nota-mini", attention_type="lsra", attention_output=False, mlp_type="dest_mix_ffn", decoder_type="ham",
               depths=[1, 2, 2, 1], hidden_sizes=[16, 32, 64, 128], num_attention_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4],
               sr_ratios=[8, 4, 2, 1], patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2], kv_pool_size=7, decoder_hidden_size=64,
               num_labels=11, ham_rank=8, ham_train_steps=6, ham_eval_steps=6, layer_norm_eps=1e-5, input_hw=[64, 48])
    net = NotaMini(cfg)
    randomize(net)
    net.eval()
    cfg["parameter_count"] = sum(p.numel() for p in net.parameters())
    d = os.path.join(here, "nota-mini")
    os.makedirs(d, exist_ok=True)
    px = torch.randn(1, 3, 64, 48, generator=g)
    with torch.no_grad():
        hs = net.hidden_states(px)
    save(os.path.join(d, "weights.safetensors"), {k: v for k, v in net.state_dict().items()})
    save(os.path.join(d, "input.safetensors"), {"pixel_values": px})
    save(os.path.join(d, "expected.safetensors"), {f"hidden_states.{i}": h for i, h in enumerate(hs)})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    print("written to", here)


if __name__ == "__main__":
    main()
