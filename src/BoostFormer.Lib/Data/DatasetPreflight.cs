using BoostFormer.IO;

namespace BoostFormer.Data;

/// <summary>
/// The check a training run makes before its first step: every listed image/label pair of the splits it will read is
/// opened and its headers read (format, size; no pixel is decoded), so that a missing, unreadable, oversized
/// (<see cref="ImageCodec.MaxPixels"/>) or mismatched pair stops the run before it trains instead of at an evaluation
/// hours later. Datasets that are not file pairs (synthetic) pass.
/// </summary>
public static class DatasetPreflight
{
    /// <summary>
    /// Checks the first <paramref name="limit"/> (default: all) pairs of <paramref name="dataset"/>; throws one
    /// <see cref="DataFormatException"/> naming the split, how many pairs are bad and the first of them with the reason.
    /// </summary>
    public static void Check(ISegmentationDataset dataset, string split, int? limit = null)
    {
        var pairs = Pairs(dataset);
        if (pairs is null) return;
        var n = Math.Min(pairs.Count, limit ?? int.MaxValue);
        var bad = new List<string>();
        for (int i = 0; i < n; i++)
        {
            var (img, lbl) = pairs[i];
            try
            {
                var hi = ImageCodec.Probe(img);
                ImageCodec.CheckPixels(hi.Height, hi.Width, img);
                var hl = ImageCodec.Probe(lbl);
                if (hl.Height != hi.Height || hl.Width != hi.Width)
                    throw new DataFormatException($"{lbl}: label map is {hl.Width}x{hl.Height} (WxH) but its image {img} is {hi.Width}x{hi.Height}", lbl);
                if (hl.Channels != 1 && !hl.IsPalette)
                    throw new DataFormatException($"{lbl}: label map has {hl.Channels} channels; expected one (gray or palette)", lbl);
            }
            catch (IOException e) { bad.Add(e.Message); }
        }
        if (bad.Count == 0) return;
        throw new DataFormatException($"{split} split: {bad.Count} of {n} image/label pairs are unreadable (checked before training): " +
            string.Join("; ", bad.Take(5)) + (bad.Count > 5 ? $"; … and {bad.Count - 5} more" : ""), null);
    }

    private static IReadOnlyList<(string Image, string Label)>? Pairs(ISegmentationDataset d) => d switch
    {
        FileSegmentationDataset f => f.Pairs,
        Subsets.IFileBacked s => Pairs(s.Inner) is { } p ? p.Take(s.Count).ToList() : null,
        _ => null,
    };
}
