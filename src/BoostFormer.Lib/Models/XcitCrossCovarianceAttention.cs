using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// XCiT's cross-covariance attention (XCA, arXiv 2106.09681; <c>facebookresearch/xcit</c> <c>xcit.py</c> <c>XCA</c>):
/// "the channels are updated using a weighted sum. The weights are obtained from the (softmax normalized)
/// cross-covariance matrix (Qᵀ K ∈ d_h × d_h)". Tokens [B, N, C]: <c>qkv</c> = Linear(C, 3C) → q, k, v [B, h, d, N];
/// q̂, k̂ are L2-normalised along N; A = softmax(q̂·k̂ᵀ·τ_h) is d×d per head with a learnable temperature τ_h
/// (<c>temperature</c> [h, 1, 1], initialised to 1 and excluded from weight decay — the reference's
/// <c>no_weight_decay</c>, our <see cref="Training.Optimization.ParameterGrouping.IsNoDecay"/>); out = A·v → [B, N, C] →
/// <c>proj</c>. Cost O(N·d²): linear in the number of tokens, no spatial reduction needed.
/// </summary>
public sealed class XcitCrossCovarianceAttention : SegformerTokenMixerBase
{
    public readonly Parameter temperature;
    public readonly Linear qkv;
    public readonly Dropout attn_drop;
    public readonly Linear proj;
    public readonly Dropout proj_drop;

    public int num_heads { get; }

    public XcitCrossCovarianceAttention(int dim, int num_heads, bool qkv_bias = true, double attn_drop = 0, double proj_drop = 0)
        : base(nameof(XcitCrossCovarianceAttention))
    {
        if (dim % num_heads != 0) throw new ArgumentException($"XCA: {dim} channels are not a multiple of {num_heads} heads");
        this.num_heads = num_heads;
        using (var t = ones(num_heads, 1, 1)) temperature = new Parameter(t);
        qkv = nn.Linear(dim, dim * 3, hasBias: qkv_bias);
        this.attn_drop = nn.Dropout(attn_drop);
        proj = nn.Linear(dim, dim);
        this.proj_drop = nn.Dropout(proj_drop);
        RegisterComponents();
    }

    /// <summary>x / max(‖x‖₂, 1e-12) along the last dimension (<c>F.normalize(x, dim=-1)</c>).</summary>
    private static Tensor L2Normalize(Tensor x)
    {
        using var sq = x.mul(x);
        using var s = sq.sum(-1, keepdim: true);
        using var n = s.sqrt();
        using var c = n.clamp_min(Scalars.Of(1e-12));
        return x.div(c);
    }

    /// <summary>Tokens [B, N, C] → [B, N, C] (the grid is not used).</summary>
    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        long b = hidden_states.size(0), n = hidden_states.size(1), c = hidden_states.size(2), h = num_heads, d = c / h;
        var parts = qkv.call(hidden_states).reshape(b, n, 3, h, d).permute(2, 0, 3, 4, 1);   // [3, B, h, d, N]
        var q = L2Normalize(parts[0]);
        var k = L2Normalize(parts[1]);
        var v = parts[2];
        var attn = q.matmul(k.transpose(-2, -1)).mul(temperature).softmax(-1);              // [B, h, d, d]
        attn = attn_drop.call(attn);
        var x = attn.matmul(v).permute(0, 3, 1, 2).reshape(b, n, c);
        if (OpCount.Active)
        {
            OpCount.Matmul(b * h, d, d, n);   // q̂·k̂ᵀ
            OpCount.Other("softmax", b * h * d * d);
            OpCount.Matmul(b * h, d, n, d);   // A·v
        }
        return proj_drop.call(proj.call(x)).MoveToOuterDisposeScope();
    }
}
