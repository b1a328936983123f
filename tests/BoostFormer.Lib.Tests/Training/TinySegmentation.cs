using TorchSharp;
using TorchSharp.Modules;
using BoostFormer.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>A small conv net with BN, dropout and a "stage-3" feature map: enough to exercise every trainer path quickly.</summary>
public sealed class TinySegNet : Module<Tensor, Tensor>, ISegmentationModel
{
    public readonly Conv2d stem;
    public readonly BatchNorm2d norm;
    public readonly Conv2d mid;
    public readonly Conv2d decode_head;

    public TinySegNet(int numClasses, int width = 16) : base(nameof(TinySegNet))
    {
        stem = nn.Conv2d(3, width, 3, stride: 2, padding: 1);
        norm = nn.BatchNorm2d(width);
        mid = nn.Conv2d(width, width, 3, stride: 2, padding: 1);
        decode_head = nn.Conv2d(width, numClasses, 1);
        NumClasses = numClasses;
        Width = width;
        RegisterComponents();
    }

    public int NumClasses { get; }
    public int Width { get; }
    public Module Module => this;
    public long Stage3Channels => Width;

    public override Tensor forward(Tensor input) { using var f = Forward(input, false); return f.Logits.alias(); }

    public SegmentationForward Forward(Tensor pixelValues, bool withStage3)
    {
        using var scope = NewDisposeScope();
        var x = norm.call(stem.call(pixelValues)).relu();
        x = functional.dropout(x, 0.1, training);
        var s3 = mid.call(x).relu();
        var up = functional.interpolate(s3, size: new[] { x.shape[2], x.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        var logits = decode_head.call(x.add(up));
        logits.MoveToOuterDisposeScope();
        if (withStage3) s3.MoveToOuterDisposeScope();
        return new SegmentationForward(logits, withStage3 ? s3 : null);
    }
}

/// <summary>
/// Synthetic scenes: a background class and rectangles of other classes, each class a colour plus noise, with a few
/// ignored (255) pixels. Deterministic in (seed, epoch, index).
/// </summary>
public sealed class SyntheticScenes : ISegmentationBatchSource
{
    private readonly long _seed;
    private readonly int _numClasses, _size, _images;

    public SyntheticScenes(long seed, int numClasses, int size, int images, int batchSize)
    { _seed = seed; _numClasses = numClasses; _size = size; _images = images; BatchSize = batchSize; }

    public long BatchesPerEpoch => _images / BatchSize;
    public int BatchSize { get; }

    public (float[] image, long[] label) Sample(int index)
    {
        var rng = new Random(unchecked((int)(_seed * 7919 + index * 104729)));
        int s = _size;
        var label = new long[s * s];
        int nRect = 1 + rng.Next(3);
        for (int r = 0; r < nRect; r++)
        {
            int c = 1 + rng.Next(_numClasses - 1);
            int y0 = rng.Next(s / 2), x0 = rng.Next(s / 2), hh = s / 4 + rng.Next(s / 2), ww = s / 4 + rng.Next(s / 2);
            for (int y = y0; y < Math.Min(s, y0 + hh); y++) for (int x = x0; x < Math.Min(s, x0 + ww); x++) label[y * s + x] = c;
        }
        var image = new float[3 * s * s];
        for (int i = 0; i < s * s; i++)
        {
            var c = label[i];
            for (int ch = 0; ch < 3; ch++)
                image[ch * s * s + i] = (float)(Math.Sin(c * 1.7 + ch * 2.1) + 0.3 * (rng.NextDouble() - 0.5));
            if (rng.NextDouble() < 0.02) label[i] = 255;
        }
        return (image, label);
    }

    /// <summary>Epoch order: a seeded permutation of the images.</summary>
    private int[] Order(long epoch)
    {
        var idx = Enumerable.Range(0, _images).ToArray();
        new Random(unchecked((int)(_seed * 31 + epoch))).Shuffle(idx);
        return idx;
    }

    public IEnumerable<SegmentationBatch> Epoch(long epoch, long startBatch)
    {
        var order = Order(epoch);
        for (long b = startBatch; b < BatchesPerEpoch; b++)
        {
            var imgs = new List<float>(); var labs = new List<long>();
            for (int j = 0; j < BatchSize; j++)
            {
                var (im, lb) = Sample(order[b * BatchSize + j]);
                imgs.AddRange(im); labs.AddRange(lb);
            }
            yield return new SegmentationBatch(
                tensor(imgs.ToArray(), new long[] { BatchSize, 3, _size, _size }).DetachFromDisposeScope(),
                tensor(labs.ToArray(), new long[] { BatchSize, _size, _size }).DetachFromDisposeScope());
        }
    }

    public IEnumerable<EvalSample> EvalSamples(int count)
    {
        for (int i = 0; i < count; i++)
        {
            var (im, lb) = Sample(i);
            yield return new EvalSample(tensor(im, new long[] { 1, 3, _size, _size }).DetachFromDisposeScope(),
                tensor(lb, new long[] { _size, _size }).DetachFromDisposeScope());
        }
    }
}
