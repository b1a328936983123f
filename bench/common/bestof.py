"""Shared by the bench/*/run.sh reports: the best (minimum) value per key over rounds of "key value" lines."""


def best(text):
    out = {}
    for line in text.strip().splitlines():
        k, v = line.split()
        out[k] = min(out.get(k, float("inf")), float(v))
    return out
