using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

// The substitution points of the model. Each architectural switch of SegformerConfig picks one implementation of one of
// these bases (SegformerModules does the picking); a new block plugs in by deriving from the same base.

/// <summary>A stage's patch embedding: NCHW input to a token sequence [B, H·W, C] plus the new height and width.</summary>
public abstract class SegformerPatchEmbeddingsBase : nn.Module<Tensor, (Tensor embeddings, long height, long width)>
{
    protected SegformerPatchEmbeddingsBase(string name) : base(name) { }

    /// <summary>Embeds <paramref name="pixel_values"/> [B, C_in, H, W] into tokens [B, h·w, hidden].</summary>
    public abstract override (Tensor embeddings, long height, long width) forward(Tensor pixel_values);
}

/// <summary>One encoder layer working on a token sequence [B, H·W, C] laid out row-major over an H×W grid.</summary>
public abstract class SegformerEncoderLayerBase : nn.Module<Tensor, long, long, bool, (Tensor hidden_states, Tensor? attention_probs)>
{
    protected SegformerEncoderLayerBase(string name) : base(name) { }

    /// <summary>
    /// Transforms <paramref name="hidden_states"/> [B, H·W, C]; returns the new states and, when
    /// <paramref name="output_attentions"/> is set and the layer has attention, the attention probabilities
    /// [B, heads, H·W, keys].
    /// </summary>
    public abstract override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions);

    /// <summary>The layer's efficient self-attention, or null when its token mixer is not attention (a PoolFormer layer).</summary>
    public virtual SegformerEfficientSelfAttention? SelfAttention => null;
}

/// <summary>
/// The attention block of a layer (<c>attention</c>): the efficient self-attention (<c>attention.self</c>), followed or not
/// by an output projection.
/// </summary>
public abstract class SegformerAttentionBase : nn.Module<Tensor, long, long, bool, (Tensor attention_output, Tensor? attention_probs)>
{
    protected SegformerAttentionBase(string name) : base(name) { }

    /// <summary>The efficient self-attention inside (the subclass registers it as <c>self</c>), or null when the token
    /// mixer is another module (<see cref="SegformerTokenMixerBase"/>: DEST, MSCA, …).</summary>
    public virtual SegformerEfficientSelfAttention? SelfAttention => null;
}

/// <summary>
/// A token mixer that stands where efficient self-attention stands (<c>attention.self</c>) but is another module — DEST's
/// simplified attention, SegNeXt's MSCA, … —: tokens [B, H·W, C] on an H×W grid in, tokens [B, H·W, C] out.
/// </summary>
public abstract class SegformerTokenMixerBase : nn.Module<Tensor, long, long, Tensor>
{
    protected SegformerTokenMixerBase(string name) : base(name) { }
}

/// <summary>
/// The decoder (<c>decode_head</c>) of a segmentation model: the four stage outputs (NCHW, strides 4, 8, 16, 32) in,
/// logits [B, num_labels, H/s, W/s] out, s = <see cref="OutputStride"/>.
/// </summary>
public abstract class SegmentationDecodeHeadBase : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    protected SegmentationDecodeHeadBase(string name) : base(name) { }

    /// <summary>
    /// Use a faster inference path computing the same logits where the head has one (eval mode, no gradients, not while
    /// the profiler records the published graph). Default on; heads without one ignore it.
    /// </summary>
    public bool fused_inference { get; set; } = true;

    /// <summary>The input-to-logits size ratio (4 for the all-MLP decoders, 8 for the HamBurger heads).</summary>
    public virtual int OutputStride => 4;
}

/// <summary>
/// How efficient self-attention shortens its key/value sequence: the layer input [B, H·W, C] on its H×W grid in, the
/// sequence keys and values are computed from out. Its submodules are registered directly under the attention module
/// that holds it (see <see cref="SegformerEfficientSelfAttention"/>), so their state-dict keys read <c>attention.self.sr</c>,
/// not <c>attention.self.key_value_reducer.sr</c>.
/// </summary>
public abstract class SegformerKeyValueReducerBase : nn.Module<Tensor, long, long, Tensor>
{
    protected SegformerKeyValueReducerBase(string name) : base(name) { }

    /// <summary>The grid the output tokens form for an input grid of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public abstract (long height, long width) OutputGrid(long height, long width);
}

/// <summary>
/// The channel mixer (<c>mlp</c>) of an encoder layer — Mix-FFN, Mix-CFN, or the conv Mix-FFN of PoolFormer layers —
/// with one signature whatever layout it computes in: tokens [B, H·W, C] on an H×W grid in, tokens out.
/// </summary>
public abstract class SegformerMlpBase : nn.Module<Tensor, long, long, Tensor>
{
    protected SegformerMlpBase(string name) : base(name) { }
}

/// <summary>
/// A channel mixer that computes on the NCHW map of the tokens (1x1 convs and BatchNorm instead of linear layers). The
/// token ↔ map conversions are views, so a caller holding a contiguous map loses nothing by going through tokens.
/// </summary>
public abstract class SegformerMapMlpBase : SegformerMlpBase
{
    protected SegformerMapMlpBase(string name) : base(name) { }

    /// <summary>[B, C, H, W] → [B, C, H, W]; only <see cref="forward"/> calls it, so forward hooks see every use.</summary>
    protected abstract Tensor ForwardMap(Tensor map);

    public sealed override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width);
        return SegformerLayout.ToSequence(ForwardMap(map)).MoveToOuterDisposeScope();
    }
}

/// <summary>Layout helpers between token sequences [B, H·W, C] and NCHW maps.</summary>
public static class SegformerLayout
{
    /// <summary>
    /// [B, H·W, C] → [B, C, H, W], a view. At inference (<see cref="ChannelsLastAtInference"/>, no autograd) the view of a
    /// contiguous sequence gets exact channels-last strides [H·W·C, 1, W·C, C]: transpose + reshape of a batch-1 sequence
    /// leaves an arbitrary stride on the batch dimension, and LibTorch then fails to recognise the map as channels-last and
    /// runs convolutions, pooling and BatchNorm on an NCHW copy, several times slower.
    /// </summary>
    public static Tensor ToNCHW(Tensor seq, long height, long width)
    {
        var s = seq.shape;
        if (ChannelsLastAtInference && !is_grad_enabled() && seq.is_contiguous() && s[1] == height * width)
            return seq.as_strided(new[] { s[0], s[2], height, width }, new[] { s[1] * s[2], 1L, width * s[2], s[2] }, seq.storage_offset());
        using var t = seq.transpose(1, 2);
        return t.reshape(s[0], s[2], height, width);
    }

    /// <summary>
    /// Replaces training-mode BatchNorm on the current thread (data-parallel training's synchronised BatchNorm,
    /// <c>Training.Distributed.SyncBatchNorm.Enable</c>); null = the module's own forward.
    /// </summary>
    [ThreadStatic] public static Func<TorchSharp.Modules.BatchNorm2d, Tensor, Tensor>? TrainingBatchNormOverride;

    [ThreadStatic] private static bool _nchwMapsAtInference;

    /// <summary>
    /// Whether inference (no autograd recording) keeps the maps in the layout they arrive in. The NCHW view of a token
    /// sequence [B, H·W, C] has channels-last strides, and LibTorch's oneDNN convolutions, pooling and upsampling run
    /// channels-last maps several times faster than NCHW ones (a 3x3 depthwise conv on 128 channels at 128², 2 threads:
    /// 43 ms NCHW, 0.9 ms channels-last). True by default; <see cref="InferencePaths"/> turns it off on this thread
    /// (the "--no-channels-last" path of the benchmarks). With autograd recording, BatchNorm still copies to NCHW (see
    /// <see cref="BatchNorm"/>).
    /// </summary>
    public static bool ChannelsLastAtInference => !_nchwMapsAtInference;

    [ThreadStatic] private static bool _noFoldsAtInference;

    /// <summary>
    /// Whether inference (no autograd, eval mode, not counting MACs) may fold an eval-mode BatchNorm into the convolution
    /// before it (W′ = s·W, b′ = s·b + t, s = γ/√(σ² + ε), t = β − s·μ) and run Mix-CFN's two half-channel depthwise convs
    /// as one 5×5 depthwise conv (the 3×3 kernels zero-padded): the same function, fewer passes over the maps. True by
    /// default; <see cref="SegformerForSemanticSegmentation.SetOptimizations"/>' <c>fusedDecoder</c> switches it with the
    /// folded decoder.
    /// </summary>
    public static bool FoldsAtInference => !_noFoldsAtInference;

    /// <summary>
    /// True for a forward that only infers: <paramref name="module"/> in eval mode, no autograd recording, and no MAC count
    /// running (the counts describe the graph as written). The folded paths are taken only then.
    /// </summary>
    public static bool IsPlainInference(nn.Module module) => !module.training && !is_grad_enabled() && !Profiling.OpCount.Active;

    /// <summary>Sets both inference paths on this thread until disposed.</summary>
    public static IDisposable InferencePaths(bool channelsLast, bool folds)
    {
        var (nchw, noFolds) = (_nchwMapsAtInference, _noFoldsAtInference);
        (_nchwMapsAtInference, _noFoldsAtInference) = (!channelsLast, !folds);
        return new LayoutRestore(() => (_nchwMapsAtInference, _noFoldsAtInference) = (nchw, noFolds));
    }

    /// <summary>The eval-mode BatchNorm of <paramref name="norm"/> as a per-channel affine map (scale, shift).</summary>
    public static (Tensor scale, Tensor shift) AffineOf(TorchSharp.Modules.BatchNorm norm)
    {
        using var ve = norm.running_var!.add(Scalars.Of(norm.eps), Scalars.One);
        var scale = norm.weight!.mul(ve.rsqrt());
        using var sm = scale.mul(norm.running_mean!);
        return (scale, norm.bias! - sm);
    }

    private sealed class LayoutRestore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>
    /// Runs a BatchNorm2d on <paramref name="x"/> made NCHW-contiguous first. LibTorch's CPU batch_norm backward (1.13 and
    /// still 2.10) returns a wrong input gradient at batch 1 when the input has channels-last strides — which every
    /// NCHW view of a token sequence [1, H·W, C] has. The copy is a no-op for contiguous inputs. Tested by
    /// <c>BatchNormGradientTests</c>. At inference without autograd (<see cref="ChannelsLastAtInference"/>) there is no
    /// backward, and the map keeps its channels-last layout, so the convolutions after it stay on the fast path.
    /// </summary>
    /// <remarks>
    /// Training mode does not go through TorchSharp's <c>BatchNorm.forward</c>: its <c>num_batches_tracked.add_(1)</c> hands
    /// LibTorch an implicit Scalar the GC may free mid-call ("Unknown scalar type", seen on a Tiny-ImageNet pretraining run of
    /// BoostFormer-B0 after 1,850 iterations). The same computation — <c>F.batch_norm</c> with batch statistics, the running
    /// statistics updated with the module's momentum (null: cumulative average), the counter advanced with a rooted Scalar —
    /// is written here; evaluation mode keeps the module's forward (no Scalar there, and the profiler's hooks see it).
    /// </remarks>
    public static Tensor BatchNorm(TorchSharp.Modules.BatchNorm norm, Tensor x)
    {
        if (norm.training && norm is TorchSharp.Modules.BatchNorm2d norm2d && TrainingBatchNormOverride is { } sync) return sync(norm2d, x);
        if (!norm.training && !is_grad_enabled() && ChannelsLastAtInference) return norm.call(x);
        using var c = x.is_contiguous() ? x.alias() : x.contiguous();
        if (!norm.training) return norm.call(c);
        double momentum = 0.0;
        if (norm.num_batches_tracked is { } tracked && norm.running_mean is not null)
        {
            using (no_grad()) tracked.add_(Scalars.OfInt(1), Scalars.OfInt(1));
            momentum = norm.momentum ?? 1.0 / tracked.item<long>();
        }
        else if (norm.momentum is { } m) momentum = m;
        return nn.functional.batch_norm(c, norm.running_mean, norm.running_var, norm.weight, norm.bias, training: true, momentum: momentum, eps: norm.eps);
    }

    /// <summary>
    /// Runs a <see cref="TorchSharp.Modules.Sequential"/> of single-tensor modules, its BatchNorms through
    /// <see cref="BatchNorm"/> (so training mode never reaches TorchSharp's BatchNorm.forward, see there).
    /// </summary>
    public static Tensor Sequential(TorchSharp.Modules.Sequential sequence, Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = x;
        foreach (var m in sequence.children())
            y = m is TorchSharp.Modules.BatchNorm bn ? BatchNorm(bn, y) : ((nn.Module<Tensor, Tensor>)m).call(y);
        return (ReferenceEquals(y, x) ? y.alias() : y).MoveToOuterDisposeScope();
    }

    /// <summary>[B, C, H, W] → [B, H·W, C].</summary>
    public static Tensor ToSequence(Tensor nchw)
    {
        using var f = nchw.flatten(2);
        return f.transpose(1, 2);
    }
}
