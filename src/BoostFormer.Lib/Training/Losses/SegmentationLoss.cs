using BoostFormer.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BoostFormer.Training.Losses;

/// <summary>The loss of one batch: the total to back-propagate and its parts (as plain numbers, for logging).</summary>
public sealed record LossBreakdown(double Main, double Auxiliary);

/// <summary>
/// The segmentation loss of mmsegmentation's decode heads: logits (e.g. at 1/4 resolution) are first resized to the
/// label size with bilinear interpolation (align_corners=false), then cross-entropy with ignore index, class weights,
/// label smoothing and optional OHEM pixel selection is applied; an auxiliary head's logits get the same treatment and
/// are added with <see cref="SegmentationLossOptions.AuxiliaryWeight"/>.
/// </summary>
public sealed class SegmentationLoss : IDisposable
{
    private readonly Tensor? _classWeights;

    /// <summary>Creates the loss for <paramref name="numClasses"/> classes.</summary>
    public SegmentationLoss(SegmentationLossOptions options, int numClasses)
    {
        options.Validate(numClasses);
        Options = options;
        NumClasses = numClasses;
        if (options.ClassWeights is not null) _classWeights = tensor(options.ClassWeights).DetachFromDisposeScope();
    }

    /// <summary>The options.</summary>
    public SegmentationLossOptions Options { get; }

    /// <summary>Number of classes K.</summary>
    public int NumClasses { get; }

    /// <summary>
    /// Data-parallel training: the process group whose ranks share each global batch, or null for one process. With a group,
    /// cross-entropy is normalised by the <em>global</em> batch's labelled pixels (the summed class weight of the pixels
    /// that are not ignored, all-reduced over the ranks) and multiplied by the world size, so that after the gradient
    /// all-reduce averages over the ranks every rank has the gradient of the global batch's mean loss — also when the shards
    /// hold different numbers of ignored pixels (void labels, crop padding), where the mean of the ranks' own means is not
    /// the global mean. Dice is a mean over images and needs nothing (the shards hold equally many images). OHEM's pixel
    /// selection stays per rank (as with PyTorch DDP), only its normaliser is global.
    /// </summary>
    public IDataParallel? Group { get; set; }

    /// <summary>
    /// Total loss (a scalar tensor with autograd) of <paramref name="logits"/> [N, K, h, w] against <paramref name="labels"/>
    /// [N, H, W] (int64), plus the auxiliary head's logits if given.
    /// </summary>
    public Tensor Compute(Tensor logits, Tensor labels, Tensor? auxiliaryLogits, out LossBreakdown parts)
    {
        using var scope = NewDisposeScope();
        var main = Single(logits, labels);
        Tensor total = main;
        double auxValue = 0;
        if (auxiliaryLogits is not null && Options.AuxiliaryWeight > 0)
        {
            var aux = Single(auxiliaryLogits, labels);
            auxValue = aux.item_as_double();
            total = main.add(aux, Scalars.Of(Options.AuxiliaryWeight));
        }
        parts = new LossBreakdown(main.item_as_double(), auxValue);
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>Total loss without the breakdown.</summary>
    public Tensor Compute(Tensor logits, Tensor labels, Tensor? auxiliaryLogits = null) => Compute(logits, labels, auxiliaryLogits, out _);

    /// <summary>The loss of one head: resize, then cross-entropy (with OHEM when configured).</summary>
    public Tensor Single(Tensor logits, Tensor labels)
    {
        if (logits.dim() != 4) throw new ArgumentException($"logits must be [N, K, h, w], got [{string.Join(", ", logits.shape)}]", nameof(logits));
        if (labels.dim() != 3) throw new ArgumentException($"labels must be [N, H, W], got [{string.Join(", ", labels.shape)}]", nameof(labels));
        if (logits.shape[1] != NumClasses) throw new ArgumentException($"logits have {logits.shape[1]} classes, the loss was built for {NumClasses}", nameof(logits));
        if (logits.shape[0] != labels.shape[0]) throw new ArgumentException($"batch sizes differ: logits {logits.shape[0]}, labels {labels.shape[0]}", nameof(labels));
        using var scope = NewDisposeScope();
        var target = labels.dtype == ScalarType.Int64 ? labels.alias() : labels.@long();
        var x = logits;
        if (logits.shape[2] != labels.shape[1] || logits.shape[3] != labels.shape[2])
            x = F.interpolate(logits, size: new[] { labels.shape[1], labels.shape[2] }, mode: InterpolationMode.Bilinear, align_corners: false);

        if (Options.Kind == SegmentationLossKind.Dice) return DiceLoss(x, target, Options.IgnoreIndex).MoveToOuterDisposeScope();
        var ce = CrossEntropy(x, target);
        if (Options.Kind == SegmentationLossKind.CrossEntropyDice) ce = ce.add(DiceLoss(x, target, Options.IgnoreIndex), Scalars.Of(Options.DiceWeight));
        return ce.MoveToOuterDisposeScope();
    }

    /// <summary>Cross-entropy of logits already at the label size (with OHEM when configured).</summary>
    private Tensor CrossEntropy(Tensor x, Tensor target)
    {
        using var scope = NewDisposeScope();
        if (Options.Ohem is null && Group is null)
            return F.cross_entropy(x, target, _classWeights, Options.IgnoreIndex, nn.Reduction.Mean, Options.LabelSmoothing).MoveToOuterDisposeScope();
        if (Options.Ohem is null)
        {
            // Σ of the per-pixel losses (class-weighted, ignored pixels 0) over the global batch's normaliser: PyTorch's
            // mean reduction divides by Σ w[y] over the labelled pixels (their count without class weights).
            var perPixelLoss = F.cross_entropy(x, target, _classWeights, Options.IgnoreIndex, nn.Reduction.None, Options.LabelSmoothing);
            var labelled = target.ne(Scalars.OfInt(Options.IgnoreIndex));
            var local = _classWeights is null
                ? labelled.sum().to_type(ScalarType.Float64)
                : _classWeights.index(new[] { target.masked_fill(labelled.logical_not(), Scalars.OfInt(0)) }).mul(labelled).sum().to_type(ScalarType.Float64);
            using var globalNormaliser = Scalars.Temporary(RankMean(local.item<double>()));
            return perPixelLoss.sum().div(globalNormaliser).MoveToOuterDisposeScope();
        }

        var pixelWeight = OhemWeights(x, target, Options.Ohem);
        var perPixel = F.cross_entropy(x, target, _classWeights, Options.IgnoreIndex, nn.Reduction.None, Options.LabelSmoothing);
        var weighted = perPixel.mul(pixelWeight).sum();
        // mmseg's weight_reduce_loss: with avg_non_ignore, loss.sum() / (avg_factor + float32 eps); else loss.mean().
        var count = Options.AverageNonIgnored ? target.ne(Scalars.OfInt(Options.IgnoreIndex)).sum().item<long>() : (double)target.numel();
        count = RankMean(count);
        using var denominator = Scalars.Temporary(Options.AverageNonIgnored ? count + 1.1920928955078125e-07 : count);
        var loss = weighted.div(denominator);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="local"/> (this rank's normaliser) summed over the ranks of <see cref="Group"/> and divided by their
    /// number — what each rank divides by so that the averaged gradient is the global batch's; <paramref name="local"/>
    /// itself for one process.
    /// </summary>
    private double RankMean(double local)
    {
        if (Group is null) return local;
        using var t = tensor(new[] { local }, ScalarType.Float64);
        Group.AllReduceSum(t);
        return t.item<double>() / Group.WorldSize;
    }

    /// <summary>
    /// mmseg 0.x's <c>DiceLoss</c> (use_sigmoid=false, smooth 1, exponent 2) of <paramref name="logits"/> [N, K, H, W] at the
    /// size of <paramref name="labels"/> [N, H, W]: p = softmax over classes, t = one-hot labels, both restricted to the
    /// pixels whose label is not <paramref name="ignore_index"/>; per image and class 1 − (2·Σpt + s)/(Σpᵉ + Σtᵉ + s),
    /// averaged over classes, then over images.
    /// </summary>
    public static Tensor DiceLoss(Tensor logits, Tensor labels, long ignore_index = 255, double smooth = 1.0, int exponent = 2)
    {
        using var scope = NewDisposeScope();
        long n = logits.shape[0], k = logits.shape[1];
        var p = logits.softmax(1).reshape(n, k, -1);
        var validMask = labels.ne(Scalars.OfInt(ignore_index));
        var v = validMask.to(logits.dtype).reshape(n, 1, -1);
        var safe = labels.masked_fill(validMask.logical_not(), Scalars.OfInt(0));
        var t = F.one_hot(safe.reshape(n, -1), k).permute(0, 2, 1).to(logits.dtype);
        var num = (p * t * v).sum(2).mul(Scalars.Of(2.0)).add(Scalars.Of(smooth), Scalars.One);
        var e = Scalars.Of(exponent);
        var den = (p.pow(e) * v).sum(2).add((t.pow(e) * v).sum(2), Scalars.One).add_(Scalars.Of(smooth), Scalars.One);
        return (num / den).neg().add_(Scalars.One, Scalars.One).mean(new long[] { 1 }).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// mmseg's <c>OHEMPixelSampler.sample</c>: a float [N, H, W] mask with 1 for the pixels kept (no gradient).
    /// </summary>
    public Tensor OhemWeights(Tensor logits, Tensor labels, OhemOptions ohem)
    {
        using var ng = no_grad();
        using var scope = NewDisposeScope();
        var batchKept = (long)ohem.MinKept * labels.shape[0];
        var valid = labels.ne(Scalars.OfInt(Options.IgnoreIndex));
        var weight = zeros_like(labels, ScalarType.Float32);
        var nValid = valid.sum().item<long>();
        if (nValid == 0) return weight.MoveToOuterDisposeScope();
        var validWeight = zeros(new[] { nValid });
        if (ohem.Threshold is { } thresh)
        {
            var prob = logits.softmax(1);
            var tmp = labels.masked_fill(labels.eq(Scalars.OfInt(Options.IgnoreIndex)), Scalars.OfInt(0)).unsqueeze(1);
            var gtProb = prob.gather(1, tmp).squeeze(1);
            var validProb = gtProb.masked_select(valid);
            var (sorted, _) = validProb.sort();
            var at = Math.Min(batchKept, sorted.numel() - 1);
            var minThreshold = sorted[at].item_as_double();
            var threshold = Math.Max(minThreshold, thresh);
            using var thresholdS = Scalars.Temporary(threshold);
            validWeight.masked_fill_(validProb.lt(thresholdS), Scalars.One);
        }
        else
        {
            var losses = F.cross_entropy(logits, labels, _classWeights, Options.IgnoreIndex, nn.Reduction.None, Options.LabelSmoothing);
            var (_, order) = losses.masked_select(valid).sort(descending: true);
            var keep = order.slice(0, 0, Math.Min(batchKept, order.numel()), 1);
            validWeight.index_put_(ones(new[] { keep.numel() }), keep);
        }
        weight.index_put_(validWeight, valid);
        return weight.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => _classWeights?.Dispose();
}
