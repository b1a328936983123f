"""The one pure-Python safetensors reader and writer of the test fixture scripts (struct + json + torch; the `safetensors`
package is not installable here). The format: an 8-byte little-endian header length, a JSON header mapping each tensor
name to its dtype, shape and byte range (plus an optional "__metadata__" of strings), then the raw little-endian bytes.

    import sys, os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Fixtures"))
    from safetensors_io import save, load
"""
import json
import os
import struct

import torch

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
          "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


def _bytes(t):
    t = t.detach().contiguous().cpu()
    # numpy has no bfloat16: write its bit pattern through a same-sized integer view.
    return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()


def save(path, tensors, metadata=None, verbose=True):
    """Writes `tensors` (name -> tensor, in order) to `path` atomically (a temp file renamed over it)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for k, t in tensors.items():
        if t.dtype not in NAMES:
            raise ValueError(f"{path}: tensor {k} has dtype {t.dtype}, which safetensors_io does not write")
        b = _bytes(t)
        header[k] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    if verbose:
        print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes")


def load(path):
    """Reads `path`: (name -> tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = DTYPES[e["dtype"]]
        if end == begin:
            t = torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(data[8 + n + begin:8 + n + end]), dtype=dtype)
        out[name] = t.reshape(e["shape"])
    return out, meta
