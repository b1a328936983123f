using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Efficient Attention (Shen et al., "Efficient Attention: Attention with Linear Complexities", arXiv 1812.01243;
/// <c>cmsflash/efficient-attention</c> <c>efficient_attention.py</c> <c>EfficientAttention</c>) in place of efficient
/// self-attention. On the map x [B, C, H, W]: keys and queries are 1x1 convs C → d_k (<c>keys</c>, <c>queries</c>),
/// values a 1x1 conv C → d_v (<c>values</c>), flattened to [B, ·, N]. Per head (a channel split into d_k/h and d_v/h): the
/// keys are normalised with a softmax over positions, the queries with a softmax over channels; the global context
/// G = K̃·Vᵀ (d_k/h × d_v/h) is aggregated once and read by every position, Oᵢ = Gᵀ·Q̃ → [B, d_v/h, N] — no √d scaling,
/// cost O(N·d_k·d_v) instead of O(N²). The heads are concatenated, reprojected by a 1x1 conv d_v → C
/// (<c>reprojection</c>), and the input is added back (the reference's internal residual, kept as the NOTA team keeps it).
/// </summary>
public sealed class ShenEfficientAttention : SegformerTokenMixerBase
{
    public readonly Conv2d keys;
    public readonly Conv2d queries;
    public readonly Conv2d values;
    public readonly Conv2d reprojection;

    public int in_channels { get; }
    public int key_channels { get; }
    public int head_count { get; }
    public int value_channels { get; }

    public ShenEfficientAttention(int in_channels, int key_channels, int head_count, int value_channels) : base(nameof(ShenEfficientAttention))
    {
        if (head_count <= 0 || key_channels % head_count != 0 || value_channels % head_count != 0)
            throw new ArgumentException($"Efficient Attention: key channels {key_channels} and value channels {value_channels} must be multiples of the head count {head_count}");
        this.in_channels = in_channels; this.key_channels = key_channels; this.head_count = head_count; this.value_channels = value_channels;
        keys = nn.Conv2d(in_channels, key_channels, 1);
        queries = nn.Conv2d(in_channels, key_channels, 1);
        values = nn.Conv2d(in_channels, value_channels, 1);
        reprojection = nn.Conv2d(value_channels, in_channels, 1);
        RegisterComponents();
    }

    /// <summary>
    /// The head count of stage <paramref name="stage"/>: the stage's attention heads when they divide both channel counts,
    /// else the NOTA team's choice [1, 2, 4, 8] (with d_k 64, d_v 32, B0's 5 heads in stage 3 do not divide 64).
    /// </summary>
    public static int HeadsFor(SegformerConfig config, int stage)
    {
        var h = config.num_attention_heads[stage];
        if (config.ea_key_channels % h == 0 && config.ea_value_channels % h == 0) return h;
        return new[] { 1, 2, 4, 8 }[Math.Min(stage, 3)];
    }

    /// <summary>Map form: [B, C, H, W] → [B, C, H, W] (reprojected attention plus the input).</summary>
    public Tensor ForwardMap(Tensor input)
    {
        using var scope = NewDisposeScope();
        long n = input.size(0), h = input.size(2), w = input.size(3), hw = h * w;
        long hk = key_channels / head_count, hv = value_channels / head_count;
        var k = keys.call(input).reshape(n, head_count, hk, hw).softmax(3);          // softmax over positions
        var q = queries.call(input).reshape(n, head_count, hk, hw).softmax(2);       // softmax over a head's channels
        var v = values.call(input).reshape(n, head_count, hv, hw);
        var context = k.matmul(v.transpose(2, 3));                                   // [B, h, d_k/h, d_v/h]
        var attended = context.transpose(2, 3).matmul(q).reshape(n, value_channels, h, w);
        if (OpCount.Active)
        {
            OpCount.Other("softmax", 2 * n * key_channels * hw);
            OpCount.Matmul(n * head_count, hk, hv, hw);   // K̃·Vᵀ
            OpCount.Matmul(n * head_count, hv, hw, hk);   // Gᵀ·Q̃
        }
        return reprojection.call(attended).add_(input, Scalars.One).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width).contiguous();
        return SegformerLayout.ToSequence(ForwardMap(map)).MoveToOuterDisposeScope();
    }
}
