"""A stand-in for einops.rearrange (not installable here), shared by the fixture scripts: plain and parenthesised axes,
sizes given as keywords or inferred from the tensor."""
import math


def _groups(side):
    out, i, toks = [], 0, side.split()
    while i < len(toks):
        t = toks[i]
        if t.startswith("("):
            grp = [t[1:]] if t != "(" else []
            while not toks[i].endswith(")"):
                i += 1
                grp.append(toks[i])
            grp[-1] = grp[-1][:-1]
            out.append([g for g in grp if g])
        else:
            out.append([t])
        i += 1
    return out


def rearrange(x, pattern, **sizes):
    """einops.rearrange for plain and parenthesised axes (all that iRMB and LawinHead use)."""
    lhs, rhs = [s.strip() for s in pattern.split("->")]
    lg, rg = _groups(lhs), _groups(rhs)
    known = dict(sizes)
    for grp, dim in zip(lg, x.shape):
        unknown = [a for a in grp if a not in known]
        prod = math.prod(known[a] for a in grp if a in known)
        if unknown:
            known[unknown[0]] = dim // prod
    flat = [a for grp in lg for a in grp]
    y = x.reshape([known[a] for a in flat])
    order = [flat.index(a) for grp in rg for a in grp]
    y = y.permute(order)
    return y.reshape([math.prod(known[a] for a in grp) for grp in rg])
