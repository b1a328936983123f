using BoostFormer.Data;
using BoostFormer.Models;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>Real images as model inputs, for analyses that need them (receptive fields, attention).</summary>
public static class ModelInputs
{
    /// <summary>
    /// The first <paramref name="count"/> images of a dataset split as model inputs [1, 3, <paramref name="height"/>,
    /// <paramref name="width"/>] (resized, ImageNet-normalised, as <see cref="SegformerImageProcessor"/> does). The caller
    /// disposes them.
    /// </summary>
    public static IReadOnlyList<Tensor> FromDataset(string dataset, string? root, string split, int count, int width, int height, int syntheticSize = 256)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"count must be positive, got {count}");
        var data = Datasets.OpenSegmentation(dataset, root, split, new SyntheticOptions(syntheticSize, Math.Max(count, 8)));
        var result = new List<Tensor>();
        for (int i = 0; i < Math.Min(count, data.Count); i++)
        {
            var img = data.Get(i).Image;
            result.Add(SegformerImageProcessor.Preprocess(new Visualization.Image(img.Pixels, img.Width, img.Height, img.Channels), width, height));
        }
        return result;
    }
}
