using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

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
}

/// <summary>Layout helpers between token sequences [B, H·W, C] and NCHW maps.</summary>
public static class SegformerLayout
{
    /// <summary>[B, H·W, C] → [B, C, H, W].</summary>
    public static Tensor ToNCHW(Tensor seq, long height, long width)
    {
        var s = seq.shape;
        using var t = seq.transpose(1, 2);
        return t.reshape(s[0], s[2], height, width);
    }

    /// <summary>
    /// Runs a BatchNorm2d on <paramref name="x"/> made NCHW-contiguous first. LibTorch's CPU batch_norm backward (1.13 and
    /// still 2.10) returns a wrong input gradient at batch 1 when the input has channels-last strides — which every
    /// NCHW view of a token sequence [1, H·W, C] has. The copy is a no-op for contiguous inputs. Tested by
    /// <c>BatchNormGradientTests</c>.
    /// </summary>
    public static Tensor BatchNorm(TorchSharp.Modules.BatchNorm2d norm, Tensor x)
    {
        if (x.is_contiguous()) return norm.call(x);
        using var c = x.contiguous();
        return norm.call(c);
    }

    /// <summary>[B, C, H, W] → [B, H·W, C].</summary>
    public static Tensor ToSequence(Tensor nchw)
    {
        using var f = nchw.flatten(2);
        return f.transpose(1, 2);
    }
}
