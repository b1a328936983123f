using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BoostFormer.Profiling;

namespace BoostFormer.Models;

/// <summary>
/// SegFormer's efficient self-attention (§3.1): multi-head attention whose keys and values come from a shorter sequence.
/// With sequence-reduction ratio R &gt; 1 the input map is reduced by a conv with kernel = stride = R (<c>sr</c>) and a
/// <c>layer_norm</c>, so the cost drops from O(N²) to O(N²/R²). With BoostFormer's pooled key/value attention (switch c)
/// the map is instead adaptively average-pooled to P×P, then <c>norm</c> (LayerNorm) and GELU.
/// Queries always come from the full input. Scores are QKᵀ/√d_head, softmax over keys.
/// </summary>
public sealed class SegformerEfficientSelfAttention : nn.Module<Tensor, long, long, bool, (Tensor context, Tensor? attention_probs)>
{
    public readonly Linear query;
    public readonly Linear key;
    public readonly Linear value;
    public readonly Dropout dropout;
    public readonly Conv2d? sr;
    public readonly LayerNorm? layer_norm;
    public readonly LayerNorm? norm;

    public int hidden_size { get; }
    public int num_attention_heads { get; }
    public int attention_head_size { get; }
    public int sr_ratio { get; }
    /// <summary>Side of the pooled key/value grid (0 when keys/values are not pooled).</summary>
    public int kv_pool_size { get; }

    /// <summary>
    /// Compute the attention with LibTorch's fused <c>scaled_dot_product_attention</c> (default) instead of matmul,
    /// softmax, dropout, matmul — the same function, several times faster on long sequences. The explicit path is still
    /// taken when the probabilities are asked for (<c>output_attentions</c>). Switch off to run the HF graph as written.
    /// </summary>
    public bool use_sdpa { get; set; } = true;

    private readonly double _dropoutProb;

    public SegformerEfficientSelfAttention(int hidden_size, int num_attention_heads, int sequence_reduction_ratio,
        double attention_probs_dropout_prob = 0, double layer_norm_eps = 1e-5, int kv_pool_size = 0)
        : base(nameof(SegformerEfficientSelfAttention))
    {
        if (hidden_size % num_attention_heads != 0)
            throw new ArgumentException($"the hidden size ({hidden_size}) is not a multiple of the number of attention heads ({num_attention_heads})");
        this.hidden_size = hidden_size;
        this.num_attention_heads = num_attention_heads;
        attention_head_size = hidden_size / num_attention_heads;
        sr_ratio = sequence_reduction_ratio;
        this.kv_pool_size = kv_pool_size;
        _dropoutProb = attention_probs_dropout_prob;
        query = nn.Linear(hidden_size, hidden_size);
        key = nn.Linear(hidden_size, hidden_size);
        value = nn.Linear(hidden_size, hidden_size);
        dropout = nn.Dropout(attention_probs_dropout_prob);
        if (kv_pool_size > 0)
        {
            norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        }
        else if (sequence_reduction_ratio > 1)
        {
            sr = nn.Conv2d(hidden_size, hidden_size, sequence_reduction_ratio, sequence_reduction_ratio);
            layer_norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        }
        RegisterComponents();
    }

    /// <summary>Length of the key/value sequence for an input grid of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public long KeyValueLength(long height, long width)
    {
        var (h, w) = KeyValueGrid(height, width);
        return h * w;
    }

    /// <summary>
    /// The grid the keys/values form for an input grid of <paramref name="height"/>×<paramref name="width"/>: P×P when
    /// pooled, the output of the kernel = stride = R reduction conv when R &gt; 1, else the input grid itself.
    /// </summary>
    public (long height, long width) KeyValueGrid(long height, long width) =>
        kv_pool_size > 0 ? (kv_pool_size, kv_pool_size)
        : sr_ratio > 1 ? ((height - sr_ratio) / sr_ratio + 1, (width - sr_ratio) / sr_ratio + 1)
        : (height, width);

    private Tensor TransposeForScores(Tensor x)
    {
        var s = x.shape;
        using var v = x.view(s[0], s[1], num_attention_heads, attention_head_size);
        return v.permute(0, 2, 1, 3);
    }

    /// <summary>Attends over <paramref name="hidden_states"/> [B, H·W, C]; returns the context [B, H·W, C] and (optionally) the probabilities.</summary>
    public override (Tensor context, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var q = TransposeForScores(query.call(hidden_states));
        Tensor kvInput = hidden_states;
        if (kv_pool_size > 0)
        {
            var map = SegformerLayout.ToNCHW(hidden_states, height, width);
            var pooled = nn.functional.adaptive_avg_pool2d(map, kv_pool_size);
            kvInput = nn.functional.gelu(norm!.call(SegformerLayout.ToSequence(pooled)));
        }
        else if (sr is not null)
        {
            var map = SegformerLayout.ToNCHW(hidden_states, height, width);
            kvInput = layer_norm!.call(SegformerLayout.ToSequence(sr.call(map)));
        }
        var k = TransposeForScores(key.call(kvInput));
        var v = TransposeForScores(value.call(kvInput));
        if (OpCount.Active)
        {
            long bh = q.shape[0] * q.shape[1], n = q.shape[2], m = k.shape[2], d = attention_head_size;
            OpCount.Matmul(bh, n, m, d);   // QKᵀ
            OpCount.Other("softmax", bh * n * m);
            OpCount.Matmul(bh, n, d, m);   // AV
        }
        Tensor ctx;
        Tensor? probs = null;
        if (use_sdpa && !output_attentions)
        {
            // softmax(QKᵀ/√d)·V with dropout on the probabilities in training, in one fused kernel
            ctx = nn.functional.scaled_dot_product_attention(q, k, v, p: training ? _dropoutProb : 0.0);
        }
        else
        {
            var scores = q.matmul(k.transpose(-1, -2));
            scores.div_(Math.Sqrt(attention_head_size));
            probs = scores.softmax(-1);
            var dropped = dropout.call(probs);
            ctx = dropped.matmul(v);
        }
        var s = ctx.shape;
        var context = ctx.permute(0, 2, 1, 3).reshape(s[0], s[2], hidden_size);
        context.MoveToOuterDisposeScope();
        if (output_attentions) probs!.MoveToOuterDisposeScope();
        return (context, output_attentions ? probs : null);
    }
}
