#!/usr/bin/python3
"""Reads weights exported by `boostformer export` with the fixtures' pure-Python safetensors reader
(tests/BoostFormer.Lib.Tests/Fixtures/safetensors_io.py; no `safetensors` package), loads them strictly into the
plain-PyTorch SegFormer in the Hugging Face layout (bench/segformer-latency/segformer_ref.py, transformers' module and key names), runs the input the C# test wrote and
prints JSON: the largest logit difference to the C# logits, the logits' scale, and the first values of one tensor.

Usage: check_exported_weights.py WEIGHTS CONFIG_JSON IO_SAFETENSORS REF_DIR
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Fixtures"))
from safetensors_io import load  # noqa: E402  (the fixtures' one safetensors reader)


def main():
    weights, config_path, io_path, ref_dir = sys.argv[1:5]
    sys.path.insert(0, ref_dir)
    import segformer_ref

    sd, meta = load(weights)
    io, _ = load(io_path)
    config = json.load(open(config_path))
    assert meta.get("format") == "pt", meta.get("format")  # transformers' from_pretrained requires pt/tf/flax/mlx
    assert config["model_type"] == "segformer" and config["architectures"] == ["SegformerForSemanticSegmentation"]
    variant = {32: "b0", 64: "b1"}[config["hidden_sizes"][0]]
    model = segformer_ref.SegformerForSemanticSegmentation(variant, len(config["id2label"])).eval()
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or unexpected:
        raise SystemExit(f"key mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()}, strict=True)
    with torch.no_grad():
        logits = model(io["input"])
    expected = io["logits"]
    probe = sd["decode_head.classifier.weight"]
    print(json.dumps({
        "max_abs": (logits - expected).abs().max().item(),
        "scale": expected.abs().max().item(),
        "shape": list(logits.shape),
        "probe_dtype": str(probe.dtype),
        "probe": probe.float().flatten()[:16].tolist(),
        "num_labels": len(config["id2label"]),
        "label0": config["id2label"]["0"],
    }))


if __name__ == "__main__":
    main()
