using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Models;

/// <summary>A stage's patch embedding: NCHW input to a token sequence [B, H·W, C] plus the new height and width.</summary>
public abstract class SegformerPatchEmbeddingsBase : nn.Module
{
    protected SegformerPatchEmbeddingsBase(string name) : base(name) { }

    /// <summary>Embeds <paramref name="pixel_values"/> [B, C_in, H, W] into tokens [B, h·w, hidden].</summary>
    public abstract (Tensor embeddings, long height, long width) forward(Tensor pixel_values);

    /// <summary>Runs <see cref="forward"/> (the hookable entry point, like <c>Module.call</c>).</summary>
    public (Tensor embeddings, long height, long width) call(Tensor pixel_values) => InvokeHooked(() => forward(pixel_values));
}

/// <summary>One encoder layer working on a token sequence [B, H·W, C] laid out row-major over an H×W grid.</summary>
public abstract class SegformerEncoderLayerBase : nn.Module
{
    protected SegformerEncoderLayerBase(string name) : base(name) { }

    /// <summary>
    /// Transforms <paramref name="hidden_states"/> [B, H·W, C]; returns the new states and, when
    /// <paramref name="output_attentions"/> is set and the layer has attention, the attention probabilities
    /// [B, heads, H·W, keys].
    /// </summary>
    public abstract (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions = false);

    /// <summary>Runs <see cref="forward"/> (the hookable entry point, like <c>Module.call</c>).</summary>
    public (Tensor hidden_states, Tensor? attention_probs) call(Tensor hidden_states, long height, long width, bool output_attentions = false) =>
        InvokeHooked(() => forward(hidden_states, height, width, output_attentions));
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

    /// <summary>[B, C, H, W] → [B, H·W, C].</summary>
    public static Tensor ToSequence(Tensor nchw)
    {
        using var f = nchw.flatten(2);
        return f.transpose(1, 2);
    }
}
