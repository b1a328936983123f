using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Visualization;

/// <summary>Pictures of intermediate activations: channels of a feature map, and per-query attention maps.</summary>
public static class FeatureMaps
{
    /// <summary>
    /// The <paramref name="count"/> channels of <paramref name="features"/> ([C,H,W] or [1,C,H,W]) with the largest
    /// activation variance, each min–max scaled into a viridis image and enlarged to about <paramref name="cellSize"/> px.
    /// </summary>
    public static ImageGrid Channels(Tensor features, int count = 8, int columns = 8, int cellSize = 96, string? title = null)
    {
        using var scope = NewDisposeScope();
        var f = features.dim() == 4 ? features[0] : features.alias();
        if (f.dim() != 3) throw new ArgumentException($"expected a [C,H,W] or [1,C,H,W] feature map, got [{string.Join(",", features.shape)}]", nameof(features));
        var c = f.shape[0];
        var k = (int)Math.Min(count, c);
        var variance = f.flatten(1).var(1);
        var order = variance.topk(k).indexes.ToArray<long>();
        var factor = Math.Max(1, cellSize / (int)Math.Max(f.shape[1], f.shape[2]));
        var images = order.Select(ch => Image.FromTensor(f[ch], colormap: "viridis", caption: $"channel {ch}").Scale(factor)).ToList();
        return new ImageGrid(images, columns, title);
    }

    /// <summary>
    /// Where one query token looks: attention probabilities <paramref name="attention"/> [B, heads, N, M] of query
    /// <paramref name="queryIndex"/>, averaged over heads and reshaped to the key grid <paramref name="keyHeight"/> × <paramref name="keyWidth"/>.
    /// The colours follow <paramref name="scale"/> (<see cref="AttentionColourScale.PerMap"/>: min–max, so that a nearly
    /// uniform map still shows its preferences; the caption then says how far from uniform the weights really are).
    /// </summary>
    public static Image AttentionOfQuery(Tensor attention, long queryIndex, int keyHeight, int keyWidth, int cellSize = 160, string? caption = null,
        AttentionColourScale scale = AttentionColourScale.PerMap)
    {
        using var scope = NewDisposeScope();
        if (attention.dim() != 4) throw new ArgumentException($"expected attention probabilities [B, heads, N, M], got [{string.Join(",", attention.shape)}]", nameof(attention));
        var m = attention.shape[3];
        if (m != (long)keyHeight * keyWidth) throw new ArgumentException($"{m} keys do not form a {keyHeight}x{keyWidth} grid", nameof(keyHeight));
        var map = attention[0].select(1, queryIndex).mean(new long[] { 0 }).reshape(keyHeight, keyWidth);
        var factor = Math.Max(1, cellSize / Math.Max(keyHeight, keyWidth));
        var coloured = AttentionColour.Normalise(map, m, scale);
        var text = $"{caption ?? $"query {queryIndex}"} ({AttentionColour.Describe(map, m, scale)})";
        return Image.FromTensor(coloured, colormap: "viridis", caption: text).Scale(factor);
    }
}
