using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BoostFormer.Profiling;

namespace BoostFormer.Models;

/// <summary>
/// SegFormer's efficient self-attention (§3.1): multi-head attention whose keys and values come from a shorter sequence.
/// Queries come from the full input; keys and values from what the <see cref="key_value_reducer"/> makes of it —
/// SegFormer's reduction conv (<see cref="SegformerSequenceReduction"/>, ratio R &gt; 1), no reduction
/// (<see cref="SegformerNoReduction"/>, R = 1), or BoostFormer's pooling (<see cref="BoostformerKeyValuePooling"/>, switch c).
/// Scores are QKᵀ/√d_head, softmax over keys.
/// </summary>
public sealed class SegformerEfficientSelfAttention : nn.Module<Tensor, long, long, bool, (Tensor context, Tensor? attention_probs)>
{
    public readonly Linear query;
    /// <summary>The key projection; null when keys and values come from one fused projection (<see cref="kv"/>).</summary>
    public readonly Linear? key;
    /// <summary>The value projection; null when keys and values come from one fused projection (<see cref="kv"/>).</summary>
    public readonly Linear? value;
    /// <summary>
    /// Keys and values from one linear layer C → 2C (the first C outputs are the keys), as PVTv2 and the NOTA team's LSRA
    /// write it (<c>attention.self.kv</c>); null when <see cref="key"/> and <see cref="value"/> are separate.
    /// </summary>
    public readonly Linear? kv;
    public readonly Dropout dropout;
    /// <summary>
    /// Shortens the key/value sequence. Its submodules are registered here under their own names (<c>sr</c>,
    /// <c>layer_norm</c> / <c>norm</c>), as in Hugging Face's and the reference's state dicts; the reducer itself is not a
    /// registered child (see <see cref="RegisterComponents"/>).
    /// </summary>
    public readonly SegformerKeyValueReducerBase key_value_reducer;

    public int hidden_size { get; }
    public int num_attention_heads { get; }
    public int attention_head_size { get; }

    /// <summary>
    /// Compute the attention with LibTorch's fused <c>scaled_dot_product_attention</c> (default) instead of matmul,
    /// softmax, dropout, matmul — the same function, several times faster on long sequences. The explicit path is still
    /// taken when the probabilities are asked for (<c>output_attentions</c>). Switch off to run the HF graph as written.
    /// </summary>
    public bool use_sdpa { get; set; } = true;

    private readonly double _dropoutProb;

    public SegformerEfficientSelfAttention(int hidden_size, int num_attention_heads, SegformerKeyValueReducerBase key_value_reducer,
        double attention_probs_dropout_prob = 0, bool fused_kv = false)
        : base(nameof(SegformerEfficientSelfAttention))
    {
        if (hidden_size % num_attention_heads != 0)
            throw new ArgumentException($"the hidden size ({hidden_size}) is not a multiple of the number of attention heads ({num_attention_heads})");
        this.hidden_size = hidden_size;
        this.num_attention_heads = num_attention_heads;
        attention_head_size = hidden_size / num_attention_heads;
        _dropoutProb = attention_probs_dropout_prob;
        query = nn.Linear(hidden_size, hidden_size);
        if (fused_kv) kv = nn.Linear(hidden_size, 2 * hidden_size);
        else
        {
            key = nn.Linear(hidden_size, hidden_size);
            value = nn.Linear(hidden_size, hidden_size);
        }
        dropout = nn.Dropout(attention_probs_dropout_prob);
        this.key_value_reducer = key_value_reducer;
        // By hand: query, key, value (or kv), dropout, then the reducer's submodules under their own names (sr, layer_norm / norm).
        register_module(nameof(query), query);
        if (kv is not null) register_module(nameof(kv), kv);
        else
        {
            register_module(nameof(key), key!);
            register_module(nameof(value), value!);
        }
        register_module(nameof(dropout), dropout);
        foreach (var (name, child) in key_value_reducer.named_children()) register_module(name, child);
    }

    /// <summary>
    /// The submodules are registered by hand in the constructor, so the field-based registration is turned off: it would
    /// register the reducer as a child and prefix its keys with its field name.
    /// </summary>
    protected override void RegisterComponents() { }

    /// <summary>The reducer is not a registered child, so it follows this module's mode by hand (its children already do).</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        key_value_reducer.train(on);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) key_value_reducer.Dispose();
    }

    /// <summary>The grid the keys/values form for an input grid of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public (long height, long width) KeyValueGrid(long height, long width) => key_value_reducer.OutputGrid(height, width);

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
        var kvInput = key_value_reducer.call(hidden_states, height, width);
        Tensor k, v;
        if (kv is not null)
        {
            var both = kv.call(kvInput);
            k = TransposeForScores(both.narrow(-1, 0, hidden_size));
            v = TransposeForScores(both.narrow(-1, hidden_size, hidden_size));
        }
        else
        {
            k = TransposeForScores(key!.call(kvInput));
            v = TransposeForScores(value!.call(kvInput));
        }
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
            scores.div_(Scalars.Of(Math.Sqrt(attention_head_size)));
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
