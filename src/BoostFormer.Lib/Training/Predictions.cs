using BoostFormer.Data;
using BoostFormer.Models;
using BoostFormer.Visualization;

namespace BoostFormer.Training;

/// <summary>A segmentation model restored from a training checkpoint, with the architecture name it was trained as.</summary>
public sealed record LoadedSegmentationModel(SegFormerForSemanticSegmentation Model, string Name) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>One image of a split with its ground truth and a model's prediction (both at the label's resolution).</summary>
public sealed record PredictionSample(string Source, ImageBuffer Image, byte[] Labels, int[] Prediction, int Width, int Height, DatasetInfo Dataset)
{
    /// <summary>Pixel accuracy of the prediction over labelled pixels.</summary>
    public double PixelAccuracy
    {
        get
        {
            long ok = 0, n = 0;
            for (int i = 0; i < Labels.Length; i++)
            {
                if (Labels[i] >= Dataset.NumClasses) continue;
                n++;
                if (Prediction[i] == Labels[i]) ok++;
            }
            return n == 0 ? double.NaN : (double)ok / n;
        }
    }

    /// <summary>Image, ground truth and prediction side by side, in the dataset's palette.</summary>
    public ImageGrid Grid(string? modelName = null, int cellWidth = 320)
    {
        var image = new Image(Image.Pixels, Image.Width, Image.Height, Image.Channels, Path.GetFileName(Source));
        var gt = Segmentation.Colorize(Labels.Select(b => b >= Dataset.NumClasses ? 255 : (int)b).ToArray(), Width, Height, Dataset, "ground truth");
        var pred = Segmentation.Colorize(Prediction, Width, Height, Dataset, $"{modelName ?? "prediction"} ({PixelAccuracy:P1} pixel acc.)");
        return new ImageGrid(new[] { image, gt, pred }, columns: 3, cellWidth: cellWidth);
    }
}
