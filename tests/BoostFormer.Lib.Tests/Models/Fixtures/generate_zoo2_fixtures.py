#!/usr/bin/python3
"""Reference values for the second batch of model-zoo modules, computed by the reference implementations themselves.

Run with Debian's python (/usr/bin/python3 has torch 1.13, no timm, no einops):
    /usr/bin/python3 tests/BoostFormer.Lib.Tests/Models/Fixtures/generate_zoo2_fixtures.py [REFS_DIR]
REFS_DIR (default /work/refs) holds the unmodified reference files:
    efficient_attention.py  cmsflash/efficient-attention      EfficientAttention
    xcit.py                 facebookresearch/xcit             XCA, LPI
    emo.py                  zhangzjn/EMO model/emo.py         iRMB
    swin_transformer.py     microsoft/Swin-Transformer        WindowAttention, SwinTransformerBlock (its mask/roll code)
They are imported as they are; what they import from timm / einops / EMO's model package is replaced by the minimal
stand-ins below (DropPath, trunc_normal_, to_2tuple, Mlp, GELU, a generic einops.rearrange, EMO's ConvNormAct /
get_norm / get_act written from EMO's model/basic_modules.py: BN/LN eps 1e-6, padding ceil((k - stride) / 2)).

Writes next to this script (a few KB each; the committed files are what ZooModel2Tests compare against):
- efficient_attention.safetensors  EfficientAttention(in 24, key 16, heads 4, value 8), x [2, 24, 7, 9]
- xca.safetensors                  XCA(dim 32, heads 4, qkv_bias) with non-unit temperatures, tokens [2, 63, 32]
- lpi.safetensors                  LPI(32) in eval mode with non-trivial BN statistics, tokens [2, 63, 32] on 7x9
- irmb_attn.safetensors            iRMB(32, 32, exp 2, ln_2d, gelu, dw 5, dim_head 16, window 7, attn_pre, qkv_bias) on
                                   [2, 64, 9, 11] (padded to 14x14, two windows a side), eval mode
- irmb_conv.safetensors            iRMB(24, 24, exp 3, bn_2d, silu, dw 3, no attention), [2, 24, 6, 5], eval mode
- swin.safetensors                 the attention half of SwinTransformerBlock (norm1 not included; window 4, shift 2,
                                   heads 2, dim 16) on [2, 10*9, 16] padded to 12x12 as mmseg's ShiftWindowMSA pads,
                                   outputs with and without the shift
Every parameter and BN statistic is drawn at random (seeded), not the default initialisation.
"""
import json
import math
import os
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "Fixtures"))
from safetensors_io import save  # noqa: E402  (the fixtures' one safetensors writer)
from einops_lite import rearrange  # noqa: E402  (the fixtures' one einops stand-in)
refs = sys.argv[1] if len(sys.argv) > 1 else "/work/refs"


# ----------------------------------------------------------------------------------------------------- stand-ins
def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0):
    return nn.init.trunc_normal_(t, mean, std, a, b)


def to_2tuple(x):
    return x if isinstance(x, tuple) else (x, x)


class DropPath(nn.Module):
    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        return x  # eval mode only


class Mlp(nn.Module):  # timm's Mlp: fc1 -> act -> drop -> fc2 -> drop
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class GELU(nn.Module):  # timm.models.layers.activations.GELU (exact erf GELU)
    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.gelu(x)




def reduce(*a, **k):
    raise NotImplementedError("not used by iRMB")


class LayerNorm2d(nn.Module):
    def __init__(self, normalized_shape, eps=1e-6, elementwise_affine=True):
        super().__init__()
        self.norm = nn.LayerNorm(normalized_shape, eps, elementwise_affine)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def get_norm(name):
    eps = 1e-6
    return {"none": nn.Identity, "bn_2d": lambda c: nn.BatchNorm2d(c, eps=eps), "ln_2d": lambda c: LayerNorm2d(c, eps=eps)}[name]


def get_act(name):
    return {"none": lambda **k: nn.Identity(), "relu": lambda **k: nn.ReLU(), "gelu": lambda **k: GELU(), "silu": lambda **k: nn.SiLU()}[name]


class ConvNormAct(nn.Module):
    def __init__(self, dim_in, dim_out, kernel_size, stride=1, dilation=1, groups=1, bias=False, skip=False,
                 norm_layer="bn_2d", act_layer="relu", inplace=True, drop_path_rate=0.0):
        super().__init__()
        padding = math.ceil((kernel_size - stride) / 2)
        self.conv = nn.Conv2d(dim_in, dim_out, kernel_size, stride, padding, dilation, groups, bias)
        self.norm = get_norm(norm_layer)(dim_out)
        self.act = get_act(act_layer)(inplace=inplace)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


class _Registry:
    def register_module(self, f):
        return f


stub("timm"); stub("timm.models")
stub("timm.models.layers", DropPath=DropPath, trunc_normal_=trunc_normal_, to_2tuple=to_2tuple, create_attn=None)
stub("timm.models.layers.activations", torch=torch, nn=nn, F=F, GELU=GELU, __all__=["torch", "nn", "F", "GELU"])
stub("timm.models.vision_transformer", _cfg=lambda **k: k, Mlp=Mlp)
stub("timm.models.registry", register_model=lambda f: f)
stub("timm.models.efficientnet_blocks", num_groups=None, SqueezeExcite=None)
stub("einops", rearrange=rearrange, reduce=reduce)
stub("model", MODEL=_Registry())
stub("model.basic_modules", get_norm=get_norm, get_act=get_act, ConvNormAct=ConvNormAct, LayerScale2D=None, MSPatchEmb=None)
sys.path.insert(0, refs)

import efficient_attention  # noqa: E402
import emo  # noqa: E402
import swin_transformer  # noqa: E402
import xcit  # noqa: E402


# ----------------------------------------------------------------------------------------------------- writer


def with_state(module, extra):
    d = {"state." + k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    d.update(extra)
    return d


def randomize(module, seed=123):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.1) + (1.0 if "norm" in n and n.endswith("weight") else 0.0))
        for n, b in module.named_buffers():
            if n.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif n.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)


# ----------------------------------------------------------------------------------------------------- Swin, padded
def swin_attention_half(blk, x, H, W):
    """SwinTransformerBlock.forward between norm1 and the residual, with mmseg ShiftWindowMSA's zero padding to a
    multiple of the window and the shift mask built on the padded grid by the reference's own slices and partition."""
    B, L, C = x.shape
    M, s = blk.window_size, blk.shift_size
    x = x.view(B, H, W, C)
    pad_r, pad_b = (M - W % M) % M, (M - H % M) % M
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    Hp, Wp = H + pad_b, W + pad_r
    mask = None
    if s > 0:
        img_mask = torch.zeros((1, Hp, Wp, 1))
        cnt = 0
        for h in (slice(0, -M), slice(-M, -s), slice(-s, None)):
            for w in (slice(0, -M), slice(-M, -s), slice(-s, None)):
                img_mask[:, h, w, :] = cnt
                cnt += 1
        mw = swin_transformer.window_partition(img_mask, M).view(-1, M * M)
        mask = mw.unsqueeze(1) - mw.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
    win = swin_transformer.window_partition(x, M).view(-1, M * M, C)
    out = blk.attn(win, mask=mask).view(-1, M, M, C)
    x = swin_transformer.window_reverse(out, M, Hp, Wp)
    if s > 0:
        x = torch.roll(x, shifts=(s, s), dims=(1, 2))
    return x[:, :H, :W, :].reshape(B, H * W, C)


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(11)

    m = efficient_attention.EfficientAttention(24, 16, 4, 8)
    randomize(m)
    x = torch.randn(2, 24, 7, 9, generator=g)
    with torch.no_grad():
        save(os.path.join(here, "efficient_attention.safetensors"), with_state(m, {"x": x, "out": m(x)}))

    m = xcit.XCA(32, num_heads=4, qkv_bias=True)
    randomize(m)
    with torch.no_grad():
        m.temperature.copy_(torch.tensor([1.0, 0.5, 2.0, 1.5]).view(4, 1, 1))
    x = torch.randn(2, 63, 32, generator=g)
    with torch.no_grad():
        save(os.path.join(here, "xca.safetensors"), with_state(m, {"x": x, "out": m(x)}))

    xcit.nn.SyncBatchNorm = nn.BatchNorm2d  # SyncBatchNorm needs a process group; in eval mode the two are the same
    m = xcit.LPI(32)
    randomize(m)
    m.eval()
    x = torch.randn(2, 63, 32, generator=g)
    with torch.no_grad():
        save(os.path.join(here, "lpi.safetensors"), with_state(m, {"x": x, "out": m(x, 7, 9)}))

    m = emo.iRMB(32, 32, norm_in=True, has_skip=True, exp_ratio=2.0, norm_layer="ln_2d", act_layer="gelu", v_proj=True,
                 dw_ks=5, stride=1, se_ratio=0.0, dim_head=16, window_size=7, attn_s=True, qkv_bias=True, attn_pre=True)
    randomize(m)
    m.eval()
    x = torch.randn(2, 32, 9, 11, generator=g)
    with torch.no_grad():
        save(os.path.join(here, "irmb_attn.safetensors"), with_state(m, {"x": x, "out": m(x)}))

    m = emo.iRMB(24, 24, norm_in=True, has_skip=True, exp_ratio=3.0, norm_layer="bn_2d", act_layer="silu", v_proj=True,
                 dw_ks=3, stride=1, se_ratio=0.0, dim_head=24, window_size=7, attn_s=False, qkv_bias=True, attn_pre=True)
    randomize(m)
    m.eval()
    x = torch.randn(2, 24, 6, 5, generator=g)
    with torch.no_grad():
        save(os.path.join(here, "irmb_conv.safetensors"), with_state(m, {"x": x, "out": m(x)}))

    swin_transformer.Mlp = Mlp
    blk = swin_transformer.SwinTransformerBlock(16, (12, 12), 2, window_size=4, shift_size=2)
    randomize(blk.attn)
    x = torch.randn(2, 10 * 9, 16, generator=g)
    with torch.no_grad():
        out_shift = swin_attention_half(blk, x, 10, 9)
        blk.shift_size = 0
        out_plain = swin_attention_half(blk, x, 10, 9)
    save(os.path.join(here, "swin.safetensors"), with_state(blk.attn, {"x": x, "out_shift": out_shift, "out_noshift": out_plain}))
    print("written to", here)


if __name__ == "__main__":
    main()
