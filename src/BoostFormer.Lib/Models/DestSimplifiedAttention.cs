using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// DEST's simplified attention (arXiv 2204.13791; mmseg <c>projects/dest/models/smit.py</c> <c>SimplifiedAttention</c>) in
/// place of efficient self-attention. Channels-first x [B, C, N]: queries <c>q</c> (1x1 Conv1d) → [B, h, N, d]; keys from
/// x, or from BN(Conv k=s=R) of its map when R &gt; 1 (<c>sr</c>, <c>norm1</c>), through <c>k</c>; a = max over keys of
/// q·k·d^-½ — the max replaces the softmax —; there is no value projection: v = mean over positions of x, the same for
/// every head; out[n] = (Σ_h a_h[n])·v, then <c>proj</c> (1x1 Conv1d). The residual is the layer's.
/// </summary>
public sealed class DestSimplifiedAttention : SegformerTokenMixerBase
{
    public readonly Conv1d q;
    public readonly Conv1d k;
    public readonly Dropout attn_drop;
    public readonly Conv1d proj;
    public readonly Dropout proj_drop;
    /// <summary>The reduction conv (kernel = stride = R), or null when R = 1.</summary>
    public readonly Conv2d? sr;
    /// <summary>BatchNorm of the reduced keys' input, or null when R = 1.</summary>
    public readonly BatchNorm1d? norm1;

    public int embed_dims { get; }
    public int num_heads { get; }
    public int sr_ratio { get; }

    public DestSimplifiedAttention(int embed_dims, int num_heads, int sr_ratio, double batch_norm_eps = 1e-5, bool qkv_bias = true) : base(nameof(DestSimplifiedAttention))
    {
        if (embed_dims % num_heads != 0) throw new ArgumentException($"DEST attention: {embed_dims} channels are not a multiple of {num_heads} heads");
        this.embed_dims = embed_dims; this.num_heads = num_heads; this.sr_ratio = sr_ratio;
        q = nn.Conv1d(embed_dims, embed_dims, 1, bias: qkv_bias);
        k = nn.Conv1d(embed_dims, embed_dims, 1, bias: qkv_bias);
        attn_drop = nn.Dropout(0);
        proj = nn.Conv1d(embed_dims, embed_dims, 1);
        proj_drop = nn.Dropout(0);
        register_module(nameof(q), q);
        register_module(nameof(k), k);
        register_module(nameof(attn_drop), attn_drop);
        register_module(nameof(proj), proj);
        register_module(nameof(proj_drop), proj_drop);
        if (sr_ratio > 1)
        {
            sr = nn.Conv2d(embed_dims, embed_dims, sr_ratio, sr_ratio);
            norm1 = nn.BatchNorm1d(embed_dims, batch_norm_eps);
            register_module(nameof(sr), sr);
            register_module(nameof(norm1), norm1);
        }
    }

    /// <summary>Registered by hand: the reduction exists only for R &gt; 1.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        long b = hidden_states.size(0), n = hidden_states.size(1), c = embed_dims, h = num_heads, d = c / h;
        var x = hidden_states.transpose(1, 2).contiguous();                       // [B, C, N]
        var query = q.call(x).reshape(b, h, d, n).permute(0, 1, 3, 2);           // [B, h, N, d]
        Tensor keysIn = x;
        if (sr is not null)
        {
            var reduced = sr.call(x.reshape(b, c, height, width)).reshape(b, c, -1);
            keysIn = SegformerLayout.BatchNorm(norm1!, reduced.contiguous());
        }
        var key = k.call(keysIn).reshape(b, h, d, -1);                            // [B, h, d, N']
        var m = key.size(-1);
        var scores = query.matmul(key).mul_(Scalars.Of(1.0 / Math.Sqrt(d)));                   // [B, h, N, N']
        var a = scores.max(-1).values;                                             // [B, h, N]
        var v = x.mean(new long[] { 2 }, keepdim: true).repeat(1, 1, h).transpose(-2, -1);   // [B, h, C]
        var outT = a.transpose(-2, -1).matmul(v);                                  // [B, N, C]
        if (OpCount.Active)
        {
            OpCount.Matmul(b * h, n, m, d);   // q·k
            OpCount.Other("reduction", b * h * n * m);
            OpCount.Matmul(b, n, c, h);       // aᵀ·v
        }
        var y = proj_drop.call(proj.call(outT.transpose(1, 2)));                   // [B, C, N]
        return y.transpose(1, 2).MoveToOuterDisposeScope();
    }
}
