using BoostFormer.Models;
using BoostFormer.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Analysis;

/// <summary>
/// The effective receptive field (ERF, Luo et al. 2016) of one feature map: how strongly each input pixel influences
/// the feature vector at the map's centre, averaged over images. SegFormer's Figure 3 compares the ERFs of the four
/// encoder stages and the all-MLP decoder this way. <see cref="Scores"/> holds the raw contribution (mean over images
/// of |∂ relu(centre).sum() / ∂ input| summed over the colour channels), row-major <see cref="Height"/>×<see cref="Width"/>.
/// </summary>
public sealed class ReceptiveField
{
    public ReceptiveField(string name, float[] scores, int width, int height, int images)
    {
        if (scores.Length != width * height) throw new ArgumentException($"{scores.Length} scores do not form a {width}x{height} map", nameof(scores));
        Name = name; Scores = scores; Width = width; Height = height; Images = images;
    }

    /// <summary>Which feature map: "stage 1" … "stage 4" or "decode head".</summary>
    public string Name { get; }
    /// <summary>Mean contribution of each input pixel (row-major).</summary>
    public float[] Scores { get; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>How many images were averaged.</summary>
    public int Images { get; }

    /// <summary>
    /// The scores as RepLKNet's ERF analysis reads them: log10(score + 1), divided by the maximum, so models of
    /// different scale compare.
    /// </summary>
    public float[] Normalized()
    {
        var d = Scores.Select(v => (float)Math.Log10(v + 1.0)).ToArray();
        var max = d.Max();
        return max > 0 ? d.Select(v => v / max).ToArray() : d;
    }

    /// <summary>
    /// High-contribution area ratio r(t) (RepLKNet, Ding et al. 2022): the area of the smallest square centred on the
    /// map's centre whose <see cref="Normalized"/> scores exceed the fraction <paramref name="threshold"/> of the total,
    /// divided by the image area. A larger r means the contribution is spread over more of the image.
    /// </summary>
    public double AreaRatio(double threshold)
    {
        if (threshold is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must lie in (0, 1), got {threshold}");
        var d = Normalized();
        double total = d.Sum(v => (double)v);
        if (total <= 0) return double.NaN;
        int cy = Height / 2, cx = Width / 2;
        for (int i = 1; i < Math.Min(Width, Height) / 2; i++)
        {
            double s = 0;
            for (int y = Math.Max(0, cy - i); y <= Math.Min(Height - 1, cy + i); y++)
                for (int x = Math.Max(0, cx - i); x <= Math.Min(Width - 1, cx + i); x++)
                    s += d[y * Width + x];
            if (s / total > threshold) return (double)(2 * i + 1) * (2 * i + 1) / ((double)Width * Height);
        }
        return 1.0;
    }

    /// <summary>
    /// The field as a viridis image on a logarithmic scale: <paramref name="decades"/> orders of magnitude below the
    /// strongest pixel map to the bottom of the colour scale (a linear scale shows only the centre).
    /// </summary>
    public Image ToImage(int decades = 3, string? caption = null)
    {
        var max = Scores.Max();
        var v = Scores.Select(s => max > 0 && s > 0 ? (float)Math.Clamp(1 + Math.Log10(s / max) / decades, 0, 1) : 0f).ToArray();
        return Image.FromFloats(v, Width, Height, 1, 0, 1, "viridis", caption ?? Name);
    }
}

/// <summary>One row of an ERF comparison: a model's feature map and its area ratios at the RepLKNet thresholds.</summary>
public sealed record ReceptiveFieldRatios(string Model, string Map, double R20, double R30, double R50, double R99);

/// <summary>Measures effective receptive fields of a SegFormer/BoostFormer segmentation model.</summary>
public static class EffectiveReceptiveFields
{
    /// <summary>The names of the measured maps, in order: the four encoder stages, then the decode head's logits.</summary>
    public static IReadOnlyList<string> MapNames(SegformerConfig config) =>
        Enumerable.Range(1, config.num_encoder_blocks).Select(i => $"stage {i}").Append("decode head").ToList();

    /// <summary>
    /// ERFs of every encoder stage and of the decode head, averaged over <paramref name="pixelValues"/> (each
    /// [1, 3, H, W], normalised like the model's inputs; all the same size). For each image one forward pass keeps the
    /// graph, and one gradient per map is taken of relu(feature vector at the map's centre).sum() with respect to the
    /// input, as in RepLKNet's ERF script. The model is put in eval mode (no dropout or drop path); its weights are
    /// untouched and their .grad is not written.
    /// </summary>
    public static IReadOnlyList<ReceptiveField> Measure(SegformerForSemanticSegmentation model, IEnumerable<Tensor> pixelValues, IProgress<int>? progress = null)
    {
        model.eval();
        var names = MapNames(model.config);
        Tensor?[] sums = new Tensor?[names.Count];
        int n = 0, width = 0, height = 0;
        try
        {
            foreach (var x in pixelValues)
            {
                if (x.dim() != 4 || x.shape[0] != 1 || x.shape[1] != 3)
                    throw new ArgumentException($"each input must be pixel values [1, 3, H, W], got [{string.Join(", ", x.shape)}]", nameof(pixelValues));
                if (n > 0 && (x.shape[2] != height || x.shape[3] != width))
                    throw new ArgumentException($"all inputs must have the same size: {height}x{width} first, then {x.shape[2]}x{x.shape[3]}", nameof(pixelValues));
                height = (int)x.shape[2]; width = (int)x.shape[3];
                using (var scope = NewDisposeScope())
                using (enable_grad())
                {
                    var input = x.detach().clone().requires_grad_(true);
                    using var output = model.forward(input, null, output_hidden_states: true);
                    var maps = output.hidden_states!.Append(output.logits).ToList();
                    for (int k = 0; k < maps.Count; k++)
                    {
                        var m = maps[k];
                        var centre = m[.., .., m.shape[2] / 2, m.shape[3] / 2].relu().sum();
                        var g = autograd.grad(new[] { centre }, new[] { input }, retain_graph: k < maps.Count - 1)[0]!;
                        var contribution = g.abs().sum(1)[0];
                        var next = sums[k] is null ? contribution.detach().clone() : sums[k]!.add(contribution, Scalars.One);
                        next.MoveToOuterDisposeScope();
                        sums[k]?.Dispose();
                        sums[k] = next;
                    }
                }
                n++;
                progress?.Report(n);
            }
            if (n == 0) throw new ArgumentException("no images to measure the receptive field on", nameof(pixelValues));
            return names.Select((name, k) =>
            {
                using var mean = sums[k]!.div(Scalars.Of(n));
                return new ReceptiveField(name, mean.contiguous().ToArray<float>(), width, height, n);
            }).ToList();
        }
        finally
        {
            foreach (var s in sums) s?.Dispose();
        }
    }

    /// <summary>Area ratios r(0.2), r(0.3), r(0.5), r(0.99) of each field, labelled with <paramref name="model"/>.</summary>
    public static IEnumerable<ReceptiveFieldRatios> Ratios(string model, IEnumerable<ReceptiveField> fields) =>
        fields.Select(f => new ReceptiveFieldRatios(model, f.Name, f.AreaRatio(0.2), f.AreaRatio(0.3), f.AreaRatio(0.5), f.AreaRatio(0.99)));

    /// <summary>
    /// A Markdown paragraph comparing models <paramref name="a"/> and <paramref name="b"/> (labels in
    /// <paramref name="ratios"/>) by r(0.5) map by map, worded from the numbers only.
    /// </summary>
    public static string Compare(IEnumerable<ReceptiveFieldRatios> ratios, string a, string b)
    {
        var list = ratios.ToList();
        var ra = list.Where(r => r.Model == a).ToDictionary(r => r.Map);
        var rb = list.Where(r => r.Model == b).ToDictionary(r => r.Map);
        if (ra.Count == 0 || rb.Count == 0) throw new ArgumentException($"no ratios for {(ra.Count == 0 ? a : b)}", nameof(ratios));
        var maps = ra.Keys.Where(rb.ContainsKey).ToList();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string Pct(double v) => v.ToString("P1", inv);
        var parts = maps.Select(m => $"{m} {Pct(ra[m].R50)} vs {Pct(rb[m].R50)} ({(ra[m].R50 > 0 ? (rb[m].R50 / ra[m].R50).ToString("0.00", inv) + "×" : "n/a")})");
        var last = maps[^1];
        var wider = rb[last].R50 > ra[last].R50 ? b : rb[last].R50 < ra[last].R50 ? a : null;
        return $"**{a}** vs **{b}**, r(0.5) map by map (ratio {b} / {a}): {string.Join("; ", parts)}. " +
            (wider is null ? $"At the {last} both spread half of the contribution over the same area."
                : $"At the {last}, **{wider}** spreads half of the contribution over the larger area.");
    }

    /// <summary>The fields of one model side by side (log scale), captioned with r(0.5).</summary>
    public static ImageGrid Grid(string model, IReadOnlyList<ReceptiveField> fields, int cellWidth = 200) =>
        new(fields.Select(f => f.ToImage(caption: $"{f.Name}  r(0.5)={f.AreaRatio(0.5):P1}")), columns: fields.Count, title: model, cellWidth: cellWidth);
}
