#!/usr/bin/python3
"""Independent reference values for the data-layer tests, computed with PIL + numpy (not with our code).

Run with Debian's python (/usr/bin/python3 has python3-pil and python3-numpy):
    /usr/bin/python3 tests/BoostFormer.Lib.Tests/Data/Fixtures/generate_fixtures.py [DATA_ROOT]
DATA_ROOT defaults to $BOOSTFORMER_DATA, else ../shared/data beside the checkout. Writes data_fixtures.json next to
this script. The committed JSON is what the tests compare against; rerun only when the data or the script changes.

Contents:
- camvid_val: image count, counts of every raw label value (0..11, 11 = Unlabelled), counts per class after the
  11 -> 255 mapping, and per class the total pixels of the images containing it (median-frequency denominator).
- decode: for a few files, PIL's decoded array (RGB for images; raw values / palette indices for label maps;
  16-bit values for the Cityscapes instanceIds) summarised by shape, sum and sha256 of the bytes (uint8, or
  little-endian int32 for 16-bit) so the C# decoder can be checked bit-exactly.
"""
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BOOSTFORMER_DATA") or os.path.normpath(
    os.path.join(here, "../../../../../shared/data"))
if not os.path.isdir(root):
    sys.exit(f"data root not found: {root}")


def camvid_val():
    base = os.path.join(root, "camvid")
    raw = np.zeros(256, dtype=np.int64)
    present = np.zeros(11, dtype=np.int64)
    images = 0
    with open(os.path.join(base, "val.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            _, lbl = line.split()
            a = np.asarray(Image.open(os.path.join(base, lbl)))
            assert a.ndim == 2, lbl
            c = np.bincount(a.ravel(), minlength=256)
            raw += c
            present += np.where(c[:11] > 0, a.size, 0)
            images += 1
    return {
        "images": images,
        "raw_value_counts": {str(v): int(raw[v]) for v in range(256) if raw[v] > 0},
        "pixel_counts": {str(c): int(raw[c]) for c in range(11)},
        "ignored_pixels": int(raw[11:].sum()),
        "present_image_pixels": {str(c): int(present[c]) for c in range(11)},
    }


def summarise(arr):
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.uint8:
        data = arr.tobytes()
    else:
        data = arr.astype("<i4").tobytes()
    return {"shape": list(arr.shape), "sum": int(arr.astype(np.int64).sum()), "sha256": hashlib.sha256(data).hexdigest()}


def decode_refs():
    refs = {}
    rgb_files = [
        "ade20k-sample/ADEChallengeData2016/images/training/ADE_train_00000036.jpg",
        "camvid/val/0016E5_07959.png",
        "cityscapes-sample/leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png",
        "cityscapes-sample/demo_munster_1024x512.png",
        "misc-seg-samples/dataset/imgs/00000_img.jpg",
    ]
    # A gray and a colour Tiny-ImageNet JPEG.
    tiny = os.path.join(root, "tiny-imagenet-200/val/images")
    gray = color = None
    for name in sorted(os.listdir(tiny), key=lambda s: int(s.split("_")[1].split(".")[0])):
        mode = Image.open(os.path.join(tiny, name)).mode
        if mode == "L" and gray is None:
            gray = name
        if mode == "RGB" and color is None:
            color = name
        if gray and color:
            break
    rgb_files += [f"tiny-imagenet-200/val/images/{gray}", f"tiny-imagenet-200/val/images/{color}"]
    for rel in rgb_files:
        im = Image.open(os.path.join(root, rel))
        refs[rel] = {"mode": "rgb", "source_mode": im.mode, **summarise(np.asarray(im.convert("RGB")))}
    label_files = [
        "camvid/valannot/0016E5_07959.png",
        "ade20k-sample/ADEChallengeData2016/annotations/training/ADE_train_00000036.png",
        "misc-seg-samples/dataset/gts/00000_gt.png",  # 4-bit palette: indices, not colours
        "cityscapes-sample/gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelIds.png",
        "cityscapes-sample/gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png",  # 16-bit
    ]
    for rel in label_files:
        im = Image.open(os.path.join(root, rel))
        a = np.asarray(im)
        if im.mode == "P":
            a = np.asarray(im, dtype=np.uint8)
        entry = {"mode": "label", "source_mode": im.mode, **summarise(a)}
        if im.mode == "P":
            entry["palette_first_16"] = list(im.getpalette()[:48])
            entry["values"] = sorted(int(v) for v in np.unique(a))
        refs[rel] = entry
    return refs


out = {
    "generator": "tests/BoostFormer.Lib.Tests/Data/Fixtures/generate_fixtures.py (PIL %s, numpy %s)" % (Image.__version__, np.__version__),
    "camvid_val": camvid_val(),
    "decode": decode_refs(),
}
path = os.path.join(here, "data_fixtures.json")
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
os.replace(tmp, path)
print(f"wrote {path}: camvid val {out['camvid_val']['images']} images")
