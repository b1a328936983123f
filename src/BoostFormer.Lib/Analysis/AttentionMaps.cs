using BoostFormer.Models;
using BoostFormer.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Analysis;

/// <summary>
/// The attention probabilities of one efficient self-attention layer for one input: [1, heads, N, M] with the N queries
/// on the stage's token grid and the M keys on the reduced (sequence-reduction conv, or pooled) grid.
/// </summary>
public sealed class LayerAttention : IDisposable
{
    internal LayerAttention(int stage, int layer, Tensor probs, (long H, long W) queryGrid, (long H, long W) keyGrid)
    {
        Stage = stage; Layer = layer; Probs = probs; QueryGrid = queryGrid; KeyGrid = keyGrid;
    }

    /// <summary>1-based stage and layer within the stage, as in the paper's figures.</summary>
    public int Stage { get; }
    public int Layer { get; }
    /// <summary>Attention probabilities [1, heads, N, M].</summary>
    public Tensor Probs { get; }
    public (long H, long W) QueryGrid { get; }
    public (long H, long W) KeyGrid { get; }
    public long Heads => Probs.shape[1];
    public void Dispose() => Probs.Dispose();
}

/// <summary>Mean attention distance of one head: the attention-weighted distance between query and key, in input pixels.</summary>
public sealed record AttentionHeadDistance(int Stage, int Layer, int Head, double Pixels);

/// <summary>
/// What efficient self-attention looks at: per-query attention maps over the image and the mean attention distance of
/// every head (the measure of Dosovitskiy et al.'s ViT Figure 7, here on SegFormer's reduced key grids). Layers whose
/// token mixer is not attention (BoostFormer's pooling layers) have no probabilities and are skipped.
/// </summary>
public static class AttentionMaps
{
    /// <summary>
    /// Runs <paramref name="model"/> (eval mode) once on <paramref name="pixelValues"/> [1, 3, H, W] and returns every
    /// attention layer's probabilities with its query and key grids. Dispose the results.
    /// </summary>
    public static IReadOnlyList<LayerAttention> Capture(SegformerForSemanticSegmentation model, Tensor pixelValues)
    {
        if (pixelValues.dim() != 4 || pixelValues.shape[0] != 1)
            throw new ArgumentException($"pixel values must be [1, 3, H, W], got [{string.Join(", ", pixelValues.shape)}]", nameof(pixelValues));
        model.eval();
        using var _ = no_grad();
        using var output = model.segformer.forward(pixelValues, output_attentions: true);
        var result = new List<LayerAttention>();
        int index = 0;
        for (int s = 0; s < model.config.num_encoder_blocks; s++)
        {
            var grid = (output.hidden_states[s].shape[2], output.hidden_states[s].shape[3]);
            var layers = model.segformer.encoder.block[s];
            for (int l = 0; l < layers.Count; l++, index++)
            {
                var probs = output.attentions![index];
                if (probs is null || layers[l].SelfAttention is not { } attention) continue;
                var keys = attention.KeyValueGrid(grid.Item1, grid.Item2);
                if (keys.height * keys.width != probs.shape[3])
                    throw new InvalidOperationException($"stage {s + 1} layer {l + 1}: {probs.shape[3]} keys do not form the expected {keys.height}x{keys.width} grid");
                result.Add(new LayerAttention(s + 1, l + 1, probs.detach(), grid, keys));
            }
        }
        return result;
    }

    /// <summary>
    /// Mean attention distance per head of one layer, in input pixels: Σ_m p(n→m)·‖pos(n) − pos(m)‖ averaged over the
    /// queries n. Token positions are the centres of the cells of each grid laid over the
    /// <paramref name="inputHeight"/>×<paramref name="inputWidth"/> input (exact for the kernel = stride reduction conv when
    /// the grid divides evenly; approximate for adaptive pooling).
    /// </summary>
    public static double[] MeanDistance(Tensor probs, (long H, long W) queryGrid, (long H, long W) keyGrid, int inputHeight, int inputWidth)
    {
        if (probs.dim() != 4 || probs.shape[2] != queryGrid.H * queryGrid.W || probs.shape[3] != keyGrid.H * keyGrid.W)
            throw new ArgumentException($"probabilities [{string.Join(", ", probs.shape)}] do not match a {queryGrid.H}x{queryGrid.W} query grid and a {keyGrid.H}x{keyGrid.W} key grid", nameof(probs));
        int n = (int)(queryGrid.H * queryGrid.W), m = (int)(keyGrid.H * keyGrid.W);
        var d = new float[(long)n * m];
        double qsy = (double)inputHeight / queryGrid.H, qsx = (double)inputWidth / queryGrid.W;
        double ksy = (double)inputHeight / keyGrid.H, ksx = (double)inputWidth / keyGrid.W;
        for (int q = 0; q < n; q++)
        {
            double qy = (q / queryGrid.W + 0.5) * qsy, qx = (q % queryGrid.W + 0.5) * qsx;
            for (int k = 0; k < m; k++)
            {
                double dy = qy - (k / keyGrid.W + 0.5) * ksy, dx = qx - (k % keyGrid.W + 0.5) * ksx;
                d[(long)q * m + k] = (float)Math.Sqrt(dy * dy + dx * dx);
            }
        }
        using var scope = NewDisposeScope();
        var dist = tensor(d, n, m);
        var perHead = (probs.to(ScalarType.Float32) * dist).sum(-1).mean(new long[] { 0, 2 });
        return perHead.to(ScalarType.Float64).ToArray<double>();
    }

    /// <summary>
    /// The mean distance between two points drawn uniformly from a <paramref name="width"/>×<paramref name="height"/>
    /// image (cell centres of a <paramref name="cells"/>-per-side grid): the mean attention distance of a head that
    /// spreads its attention evenly over the whole image, as a yardstick (≈ 0.521·side for a square).
    /// </summary>
    public static double UniformDistance(int width, int height, int cells = 48)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size must be positive, got {width}x{height}");
        double sx = (double)width / cells, sy = (double)height / cells, sum = 0;
        for (int a = 0; a < cells * cells; a++)
            for (int b = 0; b < cells * cells; b++)
            {
                double dx = (a % cells - b % cells) * sx, dy = (a / cells - b / cells) * sy;
                sum += Math.Sqrt(dx * dx + dy * dy);
            }
        return sum / ((double)cells * cells * cells * cells);
    }

    /// <summary>Mean attention distance of every head of every attention layer, averaged over <paramref name="pixelValues"/>.</summary>
    public static IReadOnlyList<AttentionHeadDistance> MeanDistances(SegformerForSemanticSegmentation model, IEnumerable<Tensor> pixelValues)
    {
        var sums = new Dictionary<(int Stage, int Layer), double[]>();
        int images = 0;
        foreach (var x in pixelValues)
        {
            var layers = Capture(model, x);
            try
            {
                foreach (var a in layers)
                {
                    var md = MeanDistance(a.Probs, a.QueryGrid, a.KeyGrid, (int)x.shape[2], (int)x.shape[3]);
                    if (!sums.TryGetValue((a.Stage, a.Layer), out var acc)) sums[(a.Stage, a.Layer)] = acc = new double[md.Length];
                    for (int h = 0; h < md.Length; h++) acc[h] += md[h];
                }
            }
            finally
            {
                foreach (var a in layers) a.Dispose();
            }
            images++;
        }
        if (images == 0) throw new ArgumentException("no images to measure attention distances on", nameof(pixelValues));
        return sums.OrderBy(kv => kv.Key.Stage).ThenBy(kv => kv.Key.Layer)
            .SelectMany(kv => kv.Value.Select((v, h) => new AttentionHeadDistance(kv.Key.Stage, kv.Key.Layer, h + 1, v / images))).ToList();
    }

    /// <summary>
    /// Where the token under input pixel (<paramref name="x"/>, <paramref name="y"/>) looks in every attention layer:
    /// its probabilities averaged over heads, upsampled from the key grid and overlaid on the image, the query marked.
    /// </summary>
    public static ImageGrid ForQuery(SegformerForSemanticSegmentation model, Tensor pixelValues, int x, int y, int columns = 4, int cellWidth = 240, string? title = null)
    {
        int height = (int)pixelValues.shape[2], width = (int)pixelValues.shape[3];
        if (x < 0 || y < 0 || x >= width || y >= height)
            throw new ArgumentOutOfRangeException(nameof(x), $"query pixel ({x}, {y}) lies outside the {width}x{height} input");
        var image = SegformerImageProcessor.ToImage(pixelValues);
        var layers = Capture(model, pixelValues);
        try
        {
            var images = layers.Select(a =>
            {
                long qi = Math.Min(a.QueryGrid.H - 1, (long)y * a.QueryGrid.H / height), qj = Math.Min(a.QueryGrid.W - 1, (long)x * a.QueryGrid.W / width);
                using var map = a.Probs[0].select(1, qi * a.QueryGrid.W + qj).mean(new long[] { 0 }).reshape(a.KeyGrid.H, a.KeyGrid.W);
                return HeatmapOverlay(image, map, marker: (x, y), caption: $"stage {a.Stage} layer {a.Layer} ({a.KeyGrid.H}x{a.KeyGrid.W} keys)");
            }).ToList();
            if (images.Count == 0) throw new InvalidOperationException("the model has no attention layers (every token mixer is pooling)");
            return new ImageGrid(images, columns, title, cellWidth);
        }
        finally
        {
            foreach (var a in layers) a.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="map"/> [h, w] bilinearly upsampled to the image and blended over it in
    /// viridis, min–max scaled (the map's smallest value dark, its largest yellow), with an optional cross at
    /// <paramref name="marker"/>.
    /// </summary>
    public static Image HeatmapOverlay(Image image, Tensor map, double alpha = 0.6, (int X, int Y)? marker = null, string? caption = null)
    {
        if (map.dim() != 2) throw new ArgumentException($"expected a [h, w] map, got [{string.Join(", ", map.shape)}]", nameof(map));
        var rgb = image.ToRgb();
        int w = rgb.Width, h = rgb.Height;
        float[] v;
        using (var scope = NewDisposeScope())
        {
            var m = map.detach().to(ScalarType.Float32);
            var up = nn.functional.interpolate(m.reshape(1, 1, m.shape[0], m.shape[1]), new long[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
            float lo = up.min().item<float>(), hi = up.max().item<float>();
            using var loS = Scalars.Temporary(lo);
            using var rangeS = Scalars.Temporary(hi - lo);
            v = (hi > lo ? up.sub(loS).div_(rangeS) : zeros_like(up)).clamp(Scalars.Zero, Scalars.One).contiguous().ToArray<float>();
        }
        var px = (byte[])rgb.Pixels.Clone();
        for (int i = 0; i < w * h; i++)
        {
            var (r, g, b) = Colormaps.Viridis(v[i]);
            px[3 * i] = (byte)Math.Round((1 - alpha) * px[3 * i] + alpha * r);
            px[3 * i + 1] = (byte)Math.Round((1 - alpha) * px[3 * i + 1] + alpha * g);
            px[3 * i + 2] = (byte)Math.Round((1 - alpha) * px[3 * i + 2] + alpha * b);
        }
        if (marker is { } p)
        {
            // a white cross with a black outline, visible on any colour
            int arm = Math.Max(3, Math.Min(w, h) / 40);
            void Set(int xx, int yy, byte c)
            {
                if (xx < 0 || yy < 0 || xx >= w || yy >= h) return;
                int o = 3 * (yy * w + xx);
                px[o] = c; px[o + 1] = c; px[o + 2] = c;
            }
            for (int d = -arm - 1; d <= arm + 1; d++)
                for (int t = -1; t <= 1; t++) { Set(p.X + d, p.Y + t, 0); Set(p.X + t, p.Y + d, 0); }
            for (int d = -arm; d <= arm; d++) { Set(p.X + d, p.Y, 255); Set(p.X, p.Y + d, 255); }
        }
        return new Image(px, w, h, 3, caption);
    }
}
