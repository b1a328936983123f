#!/usr/bin/python3
"""Reference values for the third batch of model-zoo modules, computed by the reference implementations themselves.

Run with Debian's python (/usr/bin/python3 has torch 1.13, no mmcv, no mmseg, no timm, no einops):
    /usr/bin/python3 tests/BoostFormer.Lib.Tests/Models/Fixtures/generate_zoo3_fixtures.py [REFS_DIR]
REFS_DIR (default /work/refs) holds the unmodified reference files:
    lawin_head.py   yan-hao-tian/lawin mmseg/models/decode_heads/lawin_head.py   LawinHead, LawinAttn, PatchEmbed
    team_nextvit_modeling_segformer.py   boostcampaitech4lv23nlp2/final-project-level3-nlp-14, branch Next-Vit,
                    segformer/modeling_segformer.py: SegformerEncoder, NextPatchEmbed, NCBForSegformer, MHCA, Mlp,
                    SegformerLayer, DestMixFFN, SegformerEfficientSelfAttention (only these definitions are executed,
                    taken from the file by its syntax tree; its transformers / mmseg / timm imports are not needed)
It is loaded as the module mmseg.models.decode_heads.lawin_head, so its relative imports resolve to the stand-ins below:
mmcv's ConvModule (conv — bias only without a norm — then BatchNorm 'bn', then ReLU unless act_cfg=None; SyncBN is BN in
eval mode) and NonLocal2d (mmcv/cnn/bricks/non_local.py: g, conv_out, theta, phi, inter = in // reduction, embedded
gaussian with use_scale dividing by sqrt(theta_x.shape[-1])), mmseg's BaseDecodeHead (conv_seg, Dropout2d,
multiple_select, cls_seg) and resize, a generic einops.rearrange. One substitution is made in the source text: the
head's hard-coded width 512 (and 560 = 512 + 48) becomes 128 (176), so the fixture's module stays small; nothing else
depends on the width.

Parameters are not stored: every parameter and BN statistic is a closed-form function of its key (the keys sorted,
index j) and element index i, which LawinHeadTests recomputes — base = sin(0.7 i + 1.3 j + 0.5) in float64, then
running_var 0.75 + 0.5 base, running_mean 0.1 base, 1-d norm weights (…bn.weight, …norm.weight) 1 + 0.2 base, other
1-d tensors 0.1 base, weights base · 0.8 / sqrt(fan_in) — cast to float32. The key list is in the metadata
("state_keys"), so the test also checks our state-dict keys are the reference's. The inputs are closed-form too
(closed_form_input), so the file holds the two outputs only.

Writes next to this script:
- lawin.safetensors  LawinHead(in_channels [16, 24, 40, 64], embed_dim 32, width 128, 5 classes), eval mode, batch 2:
                     inputs x1..x4 on 32x32 / 16x16 / 8x8 / 4x4 (1/8 grid a multiple of 8) → out [2, 5, 32, 32];
                     inputs p1..p4 on 24x40 / 12x20 / 6x10 / 3x5 → out_pad [2, 5, 24, 40]: the reference forward with F zero-padded to 16x24 for
                     the three Lawin branches and their outputs cropped back (LawinHead's documented behaviour)
- nextvit_hybrid.safetensors  the team's SegformerEncoder (hidden [32, 64, 96, 128], depths [1, 2, 6, 2] — the team's
                     depths, so stage 3 has transformer layers at positions 2 and 5 —, heads [1, 2, 2, 4], sr [8, 4, 2, 1],
                     strides [4, 2, 2, 2]) in eval mode on a closed-form input [2, 3, 64, 64] → the four hidden states
                     h0..h3. One substitution: the layer's attention SegformerEfficientSelfAttentionFromFalcon (the team's
                     LSRA + Efficient Attention hybrid, not in the zoo) is the same file's SegformerEfficientSelfAttention,
                     so the transformer layer is ESA without output projection + DEST Mix-FFN, which our config expresses
                     (attention_output false, mlp_type dest_mix_ffn). Keys: the team's (attention.query, …); ours read
                     attention.self.query.
"""
import ast
import importlib.util
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
WIDTH = 128


# ----------------------------------------------------------------------------------------------------- stand-ins


class ConvModule(nn.Module):
    """mmcv.cnn.ConvModule (conv → norm 'bn' → act), BN for BN/SyncBN."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias="auto",
                 conv_cfg=None, norm_cfg=None, act_cfg=dict(type="ReLU"), inplace=True, **kwargs):
        super().__init__()
        self.with_norm = norm_cfg is not None
        if bias == "auto":
            bias = not self.with_norm
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        if self.with_norm:
            self.bn = nn.BatchNorm2d(out_channels)
        self.activate = nn.ReLU() if act_cfg is not None else None

    @property
    def norm(self):
        return self.bn if self.with_norm else None

    def forward(self, x):
        x = self.conv(x)
        if self.with_norm:
            x = self.bn(x)
        if self.activate is not None:
            x = self.activate(x)
        return x


class NonLocal2d(nn.Module):
    """mmcv.cnn.NonLocal2d (_NonLocalNd), the modes LawinAttn uses."""

    def __init__(self, in_channels, reduction=2, use_scale=True, conv_cfg=None, norm_cfg=None, mode="embedded_gaussian",
                 sub_sample=False, **kwargs):
        super().__init__()
        self.in_channels = in_channels
        self.reduction = reduction
        self.use_scale = use_scale
        self.inter_channels = max(in_channels // reduction, 1)
        self.mode = mode
        self.g = ConvModule(self.in_channels, self.inter_channels, kernel_size=1, conv_cfg=conv_cfg, act_cfg=None)
        self.conv_out = ConvModule(self.inter_channels, self.in_channels, kernel_size=1, conv_cfg=conv_cfg,
                                   norm_cfg=norm_cfg, act_cfg=None)
        if self.mode != "gaussian":
            self.theta = ConvModule(self.in_channels, self.inter_channels, kernel_size=1, conv_cfg=conv_cfg, act_cfg=None)
            self.phi = ConvModule(self.in_channels, self.inter_channels, kernel_size=1, conv_cfg=conv_cfg, act_cfg=None)
        self.sub_sample = sub_sample

    def embedded_gaussian(self, theta_x, phi_x):
        pairwise_weight = torch.matmul(theta_x, phi_x)
        if self.use_scale:
            pairwise_weight /= theta_x.shape[-1] ** 0.5
        return pairwise_weight.softmax(dim=-1)


class BaseDecodeHead(nn.Module):
    """mmseg BaseDecodeHead: what LawinHead uses of it."""

    def __init__(self, in_channels, channels, *, num_classes, dropout_ratio=0.1, conv_cfg=None, norm_cfg=None,
                 act_cfg=dict(type="ReLU"), in_index=-1, input_transform=None, align_corners=False, **kwargs):
        super().__init__()
        self.in_channels = in_channels
        self.channels = channels
        self.num_classes = num_classes
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.in_index = in_index
        self.input_transform = input_transform
        self.align_corners = align_corners
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio)

    def _transform_inputs(self, inputs):
        assert self.input_transform == "multiple_select"
        return [inputs[i] for i in self.in_index]

    def cls_seg(self, feat):
        return self.conv_seg(self.dropout(feat))


def resize(input, size=None, scale_factor=None, mode="nearest", align_corners=None, warning=True):
    return F.interpolate(input, size, scale_factor, mode, align_corners)


def to_2tuple(x):
    return x if isinstance(x, tuple) else (x, x)


def stub(name, package=False, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    if package:
        m.__path__ = []
    sys.modules[name] = m
    return m


class _Registry:
    def register_module(self, *a, **k):
        return (lambda f: f) if not a else a[0]


stub("mmcv", package=True)
stub("mmcv.cnn", ConvModule=ConvModule, NonLocal2d=NonLocal2d)
stub("mmseg", package=True)
stub("mmseg.ops", resize=resize)
stub("mmseg.models", package=True)
stub("mmseg.models.builder", HEADS=_Registry())
stub("mmseg.models.decode_heads", package=True)
stub("mmseg.models.decode_heads.decode_head", BaseDecodeHead=BaseDecodeHead)
stub("einops", rearrange=rearrange)
stub("timm", package=True)
stub("timm.models", package=True)
stub("timm.models.layers", DropPath=None, to_2tuple=to_2tuple, trunc_normal_=None)


def load_lawin():
    path = os.path.join(refs, "lawin_head.py")
    src = open(path).read().replace("560", str(WIDTH + 48)).replace("512", str(WIDTH))
    name = "mmseg.models.decode_heads.lawin_head"
    mod = types.ModuleType(name)
    mod.__package__ = "mmseg.models.decode_heads"
    mod.__file__ = path
    sys.modules[name] = mod
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


# ----------------------------------------------------------------------------------------------------- weights, writer
def closed_form(module):
    """Every parameter and BN statistic from its key's index j (keys sorted) and the element index i (see the docstring)."""
    sd = module.state_dict()
    keys = sorted(k for k in sd if not k.endswith("num_batches_tracked"))
    with torch.no_grad():
        for j, k in enumerate(keys):
            t = sd[k]
            n = t.numel()
            base = torch.sin(torch.arange(n, dtype=torch.float64) * 0.7 + (1.3 * j + 0.5))
            if k.endswith("running_var"):
                v = 0.75 + 0.5 * base
            elif k.endswith("running_mean"):
                v = 0.1 * base
            elif t.dim() == 1 and (k.endswith("bn.weight") or k.endswith("norm.weight")):
                v = 1.0 + 0.2 * base
            elif t.dim() == 1:
                v = 0.1 * base
            else:
                v = base * (0.8 / math.sqrt(n // t.shape[0]))
            t.copy_(v.reshape(t.shape).float())
    return [k for k in sd if not k.endswith("num_batches_tracked")]


def closed_form_input(k, shape):
    """Input k (x1..x4 = 1..4, p1..p4 = 5..8): sin(0.37 i + 0.9 k + 0.2) + 0.5 cos(0.053 i + k) over the flat NCHW index i."""
    i = torch.arange(math.prod(shape), dtype=torch.float64)
    return (torch.sin(i * 0.37 + (0.9 * k + 0.2)) + 0.5 * torch.cos(i * 0.053 + k)).reshape(shape).float()




# ----------------------------------------------------------------------------------------------------- Lawin, padded
def lawin_forward_padded(self, inputs):
    """LawinHead.forward with F zero-padded right/bottom to a multiple of 8 for the three Lawin branches, their outputs
    cropped back; short_path and image_pool on F unpadded. Otherwise the reference's lines, with its own modules."""
    c1, c2, c3, c4 = self._transform_inputs(inputs)
    n = c4.shape[0]
    _c4 = self.linear_c4(c4).permute(0, 2, 1).reshape(n, -1, c4.shape[2], c4.shape[3])
    _c4 = resize(_c4, size=c2.size()[2:], mode="bilinear", align_corners=False)
    _c3 = self.linear_c3(c3).permute(0, 2, 1).reshape(n, -1, c3.shape[2], c3.shape[3])
    _c3 = resize(_c3, size=c2.size()[2:], mode="bilinear", align_corners=False)
    _c2 = self.linear_c2(c2).permute(0, 2, 1).reshape(n, -1, c2.shape[2], c2.shape[3])
    _c = self.linear_fuse(torch.cat([_c4, _c3, _c2], dim=1))
    n, _, h, w = _c.shape
    patch_size = 8
    ph, pw = (patch_size - h % patch_size) % patch_size, (patch_size - w % patch_size) % patch_size
    _cp = F.pad(_c, (0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    context = self.get_context(_cp, patch_size)
    query = F.unfold(_cp, kernel_size=patch_size, stride=patch_size)
    query = rearrange(query, "b (c ph pw) (nh nw) -> (b nh nw) c ph pw", ph=patch_size, pw=patch_size,
                      nh=hp // patch_size, nw=wp // patch_size)
    output = [self.short_path(_c), resize(self.image_pool(_c), size=(h, w), mode="bilinear", align_corners=self.align_corners)]
    for i, r in enumerate([8, 4, 2]):
        _output = getattr(self, f"lawin_{r}")(query, context[i])
        _output = rearrange(_output, "(b nh nw) c ph pw -> b c (nh ph) (nw pw)", ph=patch_size, pw=patch_size,
                            nh=hp // patch_size, nw=wp // patch_size)
        output.append(_output[:, :, :h, :w])
    output = self.cat(torch.cat(output, dim=1))
    _c1 = self.linear_c1(c1).permute(0, 2, 1).reshape(n, -1, c1.shape[2], c1.shape[3])
    output = resize(output, size=c1.size()[2:], mode="bilinear", align_corners=False)
    output = self.low_level_fuse(torch.cat([output, _c1], dim=1))
    return self.cls_seg(output)


# ----------------------------------------------------------------------------------------------------- Next-ViT hybrid
TEAM_DEFS = {"drop_path", "SegformerDropPath", "NextPatchEmbed", "SegformerEfficientSelfAttention",
             "SegformerEfficientSelfAttentionFromFalcon", "SegformerDWConv", "DestMixFFN", "SegformerLayer",
             "SegformerEncoder", "NORM_EPS", "_make_divisible", "MHCA", "Mlp", "NCBForSegformer"}


def load_team_nextvit():
    import functools
    import typing
    path = os.path.join(refs, "team_nextvit_modeling_segformer.py")
    tree = ast.parse(open(path).read(), path)
    keep = []
    for node in tree.body:
        name = getattr(node, "name", None)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        if name in TEAM_DEFS:
            keep.append(node)
    ns = {"torch": torch, "nn": nn, "math": math, "partial": functools.partial, "Optional": typing.Optional,
          "Tuple": typing.Tuple, "Union": typing.Union, "ACT2FN": {"gelu": nn.GELU()},
          "BaseModelOutput": lambda **kw: types.SimpleNamespace(**kw),
          "DropPath": lambda p=0.0: nn.Identity(), "rearrange": rearrange}
    exec(compile(ast.Module(body=keep, type_ignores=[]), path, "exec"), ns)
    ns["SegformerEfficientSelfAttentionFromFalcon"] = ns["SegformerEfficientSelfAttention"]
    return ns


def main():
    torch.manual_seed(0)
    lawin = load_lawin()
    ins = [16, 24, 40, 64]
    head = lawin.LawinHead(embed_dim=32, in_channels=ins, in_index=[0, 1, 2, 3], channels=WIDTH, num_classes=5,
                           dropout_ratio=0.1, norm_cfg=dict(type="SyncBN", requires_grad=True), align_corners=False)
    keys = closed_form(head)
    head.eval()
    t = {}
    for i, (c, s) in enumerate(zip(ins, [32, 16, 8, 4])):
        t[f"x{i + 1}"] = closed_form_input(i + 1, (2, c, s, s))
    for i, (c, (hh, ww)) in enumerate(zip(ins, [(24, 40), (12, 20), (6, 10), (3, 5)])):
        t[f"p{i + 1}"] = closed_form_input(i + 5, (2, c, hh, ww))
    with torch.no_grad():
        t["out"] = head([t["x1"], t["x2"], t["x3"], t["x4"]])
        # the padded path equals the reference's forward where nothing needs padding
        same = lawin_forward_padded(head, [t["x1"], t["x2"], t["x3"], t["x4"]])
        assert (same - t["out"]).abs().max().item() < 1e-6
        t["out_pad"] = lawin_forward_padded(head, [t["p1"], t["p2"], t["p3"], t["p4"]])
    params = sum(p.numel() for p in head.parameters())
    t = {k: v for k, v in t.items() if k.startswith("out")}
    save(os.path.join(here, "lawin.safetensors"), t, {"state_keys": json.dumps(keys), "parameters": str(params), "width": str(WIDTH)})
    print("LawinHead parameters:", params)

    team = load_team_nextvit()
    cfg = types.SimpleNamespace(num_encoder_blocks=4, depths=[1, 2, 6, 2], hidden_sizes=[32, 64, 96, 128], strides=[4, 2, 2, 2],
                                patch_sizes=[7, 3, 3, 3], num_channels=3, num_attention_heads=[1, 2, 2, 4], sr_ratios=[8, 4, 2, 1],
                                mlp_ratios=[4, 4, 4, 4], drop_path_rate=0.0, attention_probs_dropout_prob=0.0,
                                hidden_dropout_prob=0.0, hidden_act="gelu", linear=False, reshape_last_stage=True)
    enc = team["SegformerEncoder"](cfg)
    assert enc.architecture == [["conv"], ["conv", "trans"], ["conv", "conv", "trans", "conv", "conv", "trans"], ["conv", "trans"]], enc.architecture
    keys = closed_form(enc)
    enc.eval()
    x = closed_form_input(9, (2, 3, 64, 64))
    with torch.no_grad():
        out = enc(x, output_hidden_states=True, return_dict=True)
    t = {f"h{i}": h for i, h in enumerate(out.hidden_states)}
    params = sum(p.numel() for p in enc.parameters())
    save(os.path.join(here, "nextvit_hybrid.safetensors"), t, {"state_keys": json.dumps(keys), "parameters": str(params)})
    print("team SegformerEncoder (Next-Vit) parameters:", params, [tuple(h.shape) for h in out.hidden_states], "; written to", here)


if __name__ == "__main__":
    main()
