using BoostFormer.Data;
using BoostFormer.Models;
using BoostFormer.Visualization;

namespace BoostFormer.Training;

/// <summary>One image of a split with its ground truth and a model's prediction (both at the label's resolution).</summary>
public sealed record PredictionSample(string Source, ImageBuffer Image, byte[] Labels, int[] Prediction, int Width, int Height, DatasetInfo Dataset)
{
    /// <summary>Index of the image in its split.</summary>
    public int Index { get; init; }

    /// <summary>
    /// Mean IoU of this one image over the classes present in its ground truth or its prediction (labelled pixels only);
    /// NaN when nothing is labelled. Per-image IoUs rank images; the split's mIoU comes from the summed confusion matrix.
    /// </summary>
    public double MeanIoU
    {
        get
        {
            int k = Dataset.NumClasses;
            var inter = new long[k]; var union = new long[k];
            var gtCount = new long[k]; var predCount = new long[k];
            for (int i = 0; i < Labels.Length; i++)
            {
                int g = Labels[i];
                if (g >= k) continue;
                int p = Prediction[i];
                gtCount[g]++;
                if ((uint)p < (uint)k) predCount[p]++;
                if (p == g) inter[g]++;
            }
            double sum = 0; int n = 0;
            for (int c = 0; c < k; c++)
            {
                long u = gtCount[c] + predCount[c] - inter[c];
                if (u == 0) continue;
                sum += (double)inter[c] / u; n++;
            }
            return n == 0 ? double.NaN : sum / n;
        }
    }

    /// <summary>The image as a displayable picture.</summary>
    public Image Picture(string? caption = null) => new(Image.Pixels, Image.Width, Image.Height, Image.Channels, caption ?? Path.GetFileName(Source));

    /// <summary>The ground truth in the dataset's palette (ignored pixels black).</summary>
    public Image GroundTruth(string? caption = "ground truth") =>
        Segmentation.Colorize(Labels.Select(b => b >= Dataset.NumClasses ? 255 : (int)b).ToArray(), Width, Height, Dataset, caption);

    /// <summary>The prediction in the dataset's palette.</summary>
    public Image Predicted(string? caption = null) =>
        Segmentation.Colorize(Prediction, Width, Height, Dataset, caption ?? $"prediction (mIoU {MeanIoU:P1})");

    /// <summary>
    /// Where the prediction is wrong: wrong pixels red, correct pixels the image in faded grey, unlabelled pixels black.
    /// </summary>
    public Image Errors(string? caption = null)
    {
        var rgb = Picture().ToRgb();
        if (rgb.Width != Width || rgb.Height != Height) rgb = rgb.Resize(Width, Height);
        var px = new byte[Width * Height * 3];
        long wrong = 0, labelled = 0;
        for (int i = 0; i < Width * Height; i++)
        {
            byte r, g, b;
            if (Labels[i] >= Dataset.NumClasses) (r, g, b) = ((byte)0, (byte)0, (byte)0);
            else if (Prediction[i] != Labels[i]) { (r, g, b) = ((byte)230, (byte)30, (byte)30); wrong++; }
            else
            {
                var y = (byte)(96 + (0.299 * rgb.Pixels[3 * i] + 0.587 * rgb.Pixels[3 * i + 1] + 0.114 * rgb.Pixels[3 * i + 2]) * 0.5);
                (r, g, b) = (y, y, y);
            }
            if (Labels[i] < Dataset.NumClasses) labelled++;
            px[3 * i] = r; px[3 * i + 1] = g; px[3 * i + 2] = b;
        }
        return new Image(px, Width, Height, 3, caption ?? $"errors ({(labelled == 0 ? 0 : (double)wrong / labelled):P1} of labelled pixels)");
    }

    /// <summary>
    /// One image with its ground truth and the prediction of each model (same image, same split), and each model's error
    /// map below its prediction.
    /// </summary>
    public static ImageGrid Compare(IReadOnlyList<(string Model, PredictionSample Sample)> predictions, int cellWidth = 260)
    {
        if (predictions.Count == 0) throw new ArgumentException("no predictions to compare", nameof(predictions));
        var first = predictions[0].Sample;
        if (predictions.Any(p => p.Sample.Source != first.Source))
            throw new ArgumentException($"predictions of different images: {string.Join(", ", predictions.Select(p => p.Sample.Source).Distinct())}", nameof(predictions));
        var top = new List<Image> { first.Picture(), first.GroundTruth() };
        top.AddRange(predictions.Select(p => p.Sample.Predicted($"{p.Model} (mIoU {p.Sample.MeanIoU:P1})")));
        var bottom = new List<Image> { first.Picture(" "), first.GroundTruth(" ") };
        bottom.AddRange(predictions.Select(p => p.Sample.Errors($"{p.Model} errors")));
        // the second row repeats image and ground truth only as spacers; blank them
        bottom[0] = Blank(first.Width, first.Height); bottom[1] = Blank(first.Width, first.Height);
        return new ImageGrid(top.Concat(bottom), columns: top.Count, title: Path.GetFileName(first.Source), cellWidth: cellWidth);
    }

    private static Image Blank(int width, int height) => new(Enumerable.Repeat((byte)255, width * height * 3).ToArray(), width, height, 3, "");

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
        var pred = Predicted($"{modelName ?? "prediction"} ({PixelAccuracy:P1} pixel acc.)");
        return new ImageGrid(new[] { Picture(), GroundTruth(), pred }, columns: 3, cellWidth: cellWidth);
    }
}
