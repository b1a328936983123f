#!/usr/bin/python3
"""Reference per-sample cost of the same CamVid training pipeline in Python (PIL decode + torch.nn.functional.interpolate
+ numpy), single thread, for the C#/Python ratio printed by run.sh. Same steps and parameters as SegPipeline.Train(512):
Resize(2048x512, ratio 0.5-2.0, keep ratio) -> RandomCrop(512, cat_max_ratio 0.75) -> RandomFlip(0.5) ->
PhotoMetricDistortion (OpenCV-style uint8 HSV, vectorised numpy) -> Normalize -> Pad(512, 0/255).

Usage: loader_ref.py ROOT [--samples N]   (ROOT holds camvid/train.txt)   prints "python ms/sample X"
"""
import argparse, os, time
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(1)
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def rescale(h, w, long_e, short_e):
    f = min(max(long_e, short_e) / max(h, w), min(long_e, short_e) / min(h, w))
    return int(h * f + 0.5), int(w * f + 0.5)


def resize(img, lbl, rng):
    r = rng.uniform(0.5, 2.0)
    h, w = rescale(img.shape[0], img.shape[1], int(2048 * r), int(512 * r))
    t = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    img = F.interpolate(t, (h, w), mode="bilinear", align_corners=False).round_().clamp_(0, 255).byte()[0].permute(1, 2, 0).numpy()
    lbl = F.interpolate(torch.from_numpy(lbl)[None, None], (h, w), mode="nearest")[0, 0].numpy()
    return img, lbl


def crop(img, lbl, rng, size=512, cat_max=0.75):
    def draw():
        y = rng.integers(0, max(img.shape[0] - size, 0) + 1)
        x = rng.integers(0, max(img.shape[1] - size, 0) + 1)
        return y, x
    y, x = draw()
    for _ in range(10):
        u, c = np.unique(lbl[y:y + size, x:x + size], return_counts=True)
        c = c[u != 255]
        if len(c) > 1 and c.max() / c.sum() < cat_max:
            break
        y, x = draw()
    return img[y:y + size, x:x + size], lbl[y:y + size, x:x + size]


def rgb2hsv(p):
    p = p.astype(np.int32)
    r, g, b = p[..., 0], p[..., 1], p[..., 2]
    v = p.max(-1); mn = p.min(-1); d = v - mn
    sdiv = np.array([0] + [round(255 * 4096 / i) for i in range(1, 256)], np.int64)
    hdiv = np.array([0] + [round(180 * 4096 / (6 * i)) for i in range(1, 256)], np.int64)
    s = (d * sdiv[v] + 2048) >> 12
    h = np.where(v == r, g - b, np.where(v == g, b - r + 2 * d, r - g + 4 * d))
    h = (h * hdiv[d] + 2048) >> 12
    h = np.where(h < 0, h + 180, h)
    return np.stack([h, s, v], -1).astype(np.uint8)


def hsv2rgb(q):
    h = q[..., 0].astype(np.float32) * (6 / 180); s = q[..., 1] / np.float32(255); v = q[..., 2] / np.float32(255)
    h = np.where(h >= 6, h - 6, h); sec = np.floor(h).astype(np.int32); f = h - sec
    t = [v, v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))]
    tab = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])
    T = np.stack(t, -1)
    bgr = np.take_along_axis(T, tab[sec % 6], -1)
    rgb = bgr[..., ::-1]
    rgb = np.where((s == 0)[..., None], v[..., None], rgb)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def convert(x, alpha=1.0, beta=0.0):
    return np.clip(x.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)


def photometric(img, rng):
    if rng.integers(2): img = convert(img, beta=rng.uniform(-32, 32))
    mode = rng.integers(2)
    if mode == 1 and rng.integers(2): img = convert(img, alpha=rng.uniform(0.5, 1.5))
    if rng.integers(2):
        hsv = rgb2hsv(img); hsv[..., 1] = convert(hsv[..., 1], alpha=rng.uniform(0.5, 1.5)); img = hsv2rgb(hsv)
    if rng.integers(2):
        hsv = rgb2hsv(img); hsv[..., 0] = (hsv[..., 0].astype(int) + rng.integers(-18, 18)) % 180; img = hsv2rgb(hsv)
    if mode == 0 and rng.integers(2): img = convert(img, alpha=rng.uniform(0.5, 1.5))
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--samples", type=int, default=16)
    a = ap.parse_args()
    base = os.path.join(a.root, "camvid") if os.path.isdir(os.path.join(a.root, "camvid")) else a.root
    pairs = [l.split() for l in open(os.path.join(base, "train.txt")) if l.strip()]
    rng = np.random.default_rng(0)
    times = []
    for i in range(a.samples + 2):
        t0 = time.perf_counter()
        ip, lp = pairs[i % len(pairs)]
        img = np.array(Image.open(os.path.join(base, ip)).convert("RGB"))
        lbl = np.asarray(Image.open(os.path.join(base, lp))).copy()
        lbl[lbl == 11] = 255
        img, lbl = resize(img, lbl, rng)
        img, lbl = crop(img, lbl, rng)
        if rng.random() < 0.5: img, lbl = img[:, ::-1], lbl[:, ::-1]
        img = photometric(np.ascontiguousarray(img), rng)
        x = ((img.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)
        out = np.zeros((3, 512, 512), np.float32); out[:, :x.shape[1], :x.shape[2]] = x
        seg = np.full((512, 512), 255, np.uint8); seg[:lbl.shape[0], :lbl.shape[1]] = lbl
        if i >= 2: times.append(time.perf_counter() - t0)
    print("python ms/sample %.1f (1 thread, %d samples)" % (1000 * sum(times) / len(times), len(times)))


if __name__ == "__main__":
    main()
