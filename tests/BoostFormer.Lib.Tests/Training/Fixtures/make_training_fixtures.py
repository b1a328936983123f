#!/usr/bin/python3
"""Reference values for the Training tests, computed with PyTorch (run with /usr/bin/python3, torch 1.13).

Inputs are deterministic formulas (no RNG), re-created identically by the C# tests (TrainingFixtureInputs).
Writes training_fixtures.json next to this script. mmseg's OHEMPixelSampler and the HF schedules are transcribed
below from their sources (mmseg 0.x core/seg/sampler/ohem_pixel_sampler.py; transformers optimization.py).
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
N, K, h, w, H, W = 2, 5, 4, 6, 8, 12

def logits():
    i = torch.arange(N * K * h * w, dtype=torch.float64)
    return (torch.sin(i * 0.37) * 2.0 + torch.cos(i * 0.05)).float().reshape(N, K, h, w)

def labels():
    i = torch.arange(N * H * W)
    lab = (i * 7 + (i // 5)) % (K + 1)
    lab[lab == K] = 255
    return lab.reshape(N, H, W)

def up(x):
    return F.interpolate(x, size=(H, W), mode='bilinear', align_corners=False)

def ohem_weight(seg_logit, seg_label, thresh, min_kept, ignore=255, class_weight=None, smoothing=0.0):
    with torch.no_grad():
        batch_kept = min_kept * seg_label.size(0)
        valid_mask = seg_label != ignore
        seg_weight = seg_logit.new_zeros(size=seg_label.size())
        valid_seg_weight = seg_weight[valid_mask]
        if thresh is not None:
            seg_prob = F.softmax(seg_logit, dim=1)
            tmp = seg_label.clone().unsqueeze(1)
            tmp[tmp == ignore] = 0
            seg_prob = seg_prob.gather(1, tmp).squeeze(1)
            sort_prob, _ = seg_prob[valid_mask].sort()
            min_threshold = sort_prob[min(batch_kept, sort_prob.numel() - 1)] if sort_prob.numel() > 0 else 0.0
            threshold = max(float(min_threshold), thresh)
            valid_seg_weight[seg_prob[valid_mask] < threshold] = 1.
        else:
            losses = F.cross_entropy(seg_logit, seg_label, weight=class_weight, ignore_index=ignore, reduction='none', label_smoothing=smoothing)
            _, sort_indices = losses[valid_mask].sort(descending=True)
            valid_seg_weight[sort_indices[:batch_kept]] = 1.
        seg_weight[valid_mask] = valid_seg_weight
    return seg_weight

def ohem_loss(x, y, thresh, min_kept, cw=None, smoothing=0.0):
    xu = up(x)
    wgt = ohem_weight(xu, y, thresh, min_kept, class_weight=cw, smoothing=smoothing)
    l = F.cross_entropy(xu, y, weight=cw, ignore_index=255, reduction='none', label_smoothing=smoothing)
    avg = y.numel() - (y == 255).sum().item()
    return float((l * wgt).sum() / (avg + torch.finfo(torch.float32).eps)), int(wgt.sum().item())

out = {}
x = logits().requires_grad_(True)
y = labels()
cw = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.8])
loss = F.cross_entropy(up(x), y, ignore_index=255)
loss.backward()
out['ce'] = float(loss)
out['ce_grad_sum_abs'] = float(x.grad.abs().sum())
out['ce_grad_first'] = [float(v) for v in x.grad.flatten()[:6]]
out['ce_weighted'] = float(F.cross_entropy(up(logits()), y, weight=cw, ignore_index=255))
out['ce_smooth'] = float(F.cross_entropy(up(logits()), y, ignore_index=255, label_smoothing=0.1))
out['ce_weighted_smooth'] = float(F.cross_entropy(up(logits()), y, weight=cw, ignore_index=255, label_smoothing=0.1))
out['ohem_thresh07_min10'], out['ohem_thresh07_min10_kept'] = ohem_loss(logits(), y, 0.7, 10)
out['ohem_thresh03_min50'], out['ohem_thresh03_min50_kept'] = ohem_loss(logits(), y, 0.3, 50)
out['ohem_nothresh_min20'], out['ohem_nothresh_min20_kept'] = ohem_loss(logits(), y, None, 20)
out['ohem_nothresh_min20_weighted'], _ = ohem_loss(logits(), y, None, 20, cw=cw)
aux = (logits() * 0.5 + 0.25).flip(3)
out['ce_plus_aux04'] = float(F.cross_entropy(up(logits()), y, ignore_index=255) + 0.4 * F.cross_entropy(up(aux), y, ignore_index=255))

# HF schedules (transformers/optimization.py), lr_init 6e-5, lr_end 1e-7.
def poly(step, warm, total, lr_init, lr_end, power):
    if step < warm: return float(step) / float(max(1, warm))
    elif step > total: return lr_end / lr_init
    lr_range = lr_init - lr_end
    decay_steps = total - warm
    pct = 1 - (step - warm) / decay_steps
    return (lr_range * pct ** power + lr_end) / lr_init

def cosine(step, warm, total, cycles=0.5):
    if step < warm: return float(step) / float(max(1, warm))
    progress = float(step - warm) / float(max(1, total - warm))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))

steps = [0, 1, 5, 10, 11, 50, 99, 100, 101, 150]
out['poly_steps'] = steps
out['poly_factors'] = [poly(s, 10, 100, 6e-5, 1e-7, 1.0) for s in steps]
out['poly2_factors'] = [poly(s, 10, 100, 6e-5, 0.0, 2.0) for s in steps]
out['cosine_factors'] = [cosine(s, 10, 100) for s in steps]

# AdamW: 3 steps, two groups, deterministic gradients.
def p_init(n, a):
    return (torch.sin(torch.arange(n, dtype=torch.float64) * a)).float()
p1 = torch.nn.Parameter(p_init(6, 0.3).reshape(2, 3))
p2 = torch.nn.Parameter(p_init(4, 0.7))
opt = torch.optim.AdamW([{'params': [p1], 'lr': 1e-2, 'weight_decay': 0.05}, {'params': [p2], 'lr': 1e-1, 'weight_decay': 0.0}], betas=(0.9, 0.999), eps=1e-8)
for t in range(3):
    opt.zero_grad()
    loss = (p1 ** 2).sum() * (t + 1) + (p2 * torch.cos(torch.arange(4.) + t)).sum() + (p1.sum() * p2.sum())
    loss.backward()
    opt.step()
out['adamw_p1'] = [float(v) for v in p1.detach().flatten()]
out['adamw_p2'] = [float(v) for v in p2.detach().flatten()]

# clip_grad_norm_
a = torch.nn.Parameter(torch.zeros(3, 4)); b = torch.nn.Parameter(torch.zeros(5))
a.grad = (torch.arange(12.) - 5.5).reshape(3, 4) * 0.3
b.grad = torch.cos(torch.arange(5.)) * 2.0
tn = torch.nn.utils.clip_grad_norm_([a, b], 1.5)
out['clip_total'] = float(tn)
out['clip_a'] = [float(v) for v in a.grad.flatten()]
out['clip_b'] = [float(v) for v in b.grad.flatten()]
a.grad = (torch.arange(12.) - 5.5).reshape(3, 4) * 0.3
b.grad = torch.cos(torch.arange(5.)) * 2.0
out['clip_inf_total'] = float(torch.nn.utils.clip_grad_norm_([a, b], 0.5, norm_type=float('inf')))
out['clip_inf_a'] = [float(v) for v in a.grad.flatten()]

# Soft-target cross-entropy (timm SoftTargetCrossEntropy == F.cross_entropy with probability targets).
zi = torch.arange(24, dtype=torch.float64)
z = (torch.sin(zi * 0.9) * 3.0).float().reshape(4, 6)
t = (torch.cos(zi * 0.4) + 1.5).float().reshape(4, 6)
t = t / t.sum(1, keepdim=True)
out['soft_ce'] = float(torch.sum(-t * F.log_softmax(z, dim=-1), dim=-1).mean())
out['soft_ce_torch'] = float(F.cross_entropy(z, t))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'training_fixtures.json')
with open(path, 'w') as f:
    json.dump(out, f, indent=1)
print('wrote', path)
