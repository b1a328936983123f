namespace BoostFormer.Training.Losses;

/// <summary>
/// Online hard example mining, mmsegmentation's <c>OHEMPixelSampler</c>: among the valid pixels of a batch, keep those
/// whose softmax probability of the ground-truth class is below <c>max(Threshold, p_(MinKept·N))</c> (the probability
/// ranked <c>MinKept·N</c> in ascending order, N = batch size), so at least <c>MinKept</c> pixels per image are kept.
/// With <see cref="Threshold"/> null, the <c>MinKept·N</c> pixels with the largest loss are kept instead.
/// </summary>
public sealed record OhemOptions(double? Threshold = 0.7, int MinKept = 100000);

/// <summary>Which loss a decode head is trained with (mmseg's <c>loss_decode</c>).</summary>
public enum SegmentationLossKind
{
    /// <summary>Cross-entropy (with the class weights, label smoothing and OHEM options).</summary>
    CrossEntropy,
    /// <summary>mmseg 0.x's <c>DiceLoss</c> alone: softmax probabilities against one-hot labels over the valid pixels,
    /// 1 − (2·Σpt + 1)/(Σp² + Σt² + 1) per class, averaged over classes and images.</summary>
    Dice,
    /// <summary>Cross-entropy plus <see cref="SegmentationLossOptions.DiceWeight"/> × Dice (mmseg's list of <c>loss_decode</c>).</summary>
    CrossEntropyDice,
}

/// <summary>
/// Configuration of the segmentation loss. Every option maps to a setting of mmsegmentation or PyTorch:
/// cross-entropy with <see cref="IgnoreIndex"/> (255), optional class weights (e.g. class-balanced weights from the
/// dataset's pixel statistics), label smoothing (PyTorch's <c>label_smoothing</c>), OHEM and an auxiliary FCN head whose
/// loss is added with <see cref="AuxiliaryWeight"/> (0.4 in mmseg configs).
/// </summary>
public sealed record SegmentationLossOptions
{
    /// <summary>The loss: cross-entropy (default), Dice, or cross-entropy + Dice.</summary>
    public SegmentationLossKind Kind { get; init; } = SegmentationLossKind.CrossEntropy;

    /// <summary>Weight of the Dice term in <see cref="SegmentationLossKind.CrossEntropyDice"/> (1).</summary>
    public double DiceWeight { get; init; } = 1.0;

    /// <summary>Label value excluded from the loss.</summary>
    public long IgnoreIndex { get; init; } = 255;

    /// <summary>Per-class weights (length K) or null for uniform weights.</summary>
    public float[]? ClassWeights { get; init; }

    /// <summary>Label smoothing ε in [0, 1): targets become (1-ε)·onehot + ε/K.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>OHEM settings, or null to use every valid pixel.</summary>
    public OhemOptions? Ohem { get; init; }

    /// <summary>Weight of the auxiliary head's loss (used only when the model produces auxiliary logits); mmseg uses 0.4.</summary>
    public double AuxiliaryWeight { get; init; } = 0.4;

    /// <summary>
    /// With OHEM, divide the weighted loss sum by the number of non-ignored pixels (mmseg <c>avg_non_ignore=True</c>);
    /// false divides by all pixels (mmseg 0.x default). Without OHEM the PyTorch mean over non-ignored pixels is used
    /// (weighted by class weight, exactly <c>F.cross_entropy(reduction='mean')</c>).
    /// </summary>
    public bool AverageNonIgnored { get; init; } = true;

    /// <summary>Throws one clear exception if an option is out of range.</summary>
    public void Validate(int numClasses)
    {
        if (ClassWeights is not null && ClassWeights.Length != numClasses)
            throw new ArgumentException($"ClassWeights has {ClassWeights.Length} entries but the model predicts {numClasses} classes", nameof(ClassWeights));
        if (ClassWeights is not null && ClassWeights.Any(w => !(w >= 0) || float.IsInfinity(w)))
            throw new ArgumentException("ClassWeights must be finite and non-negative", nameof(ClassWeights));
        if (LabelSmoothing < 0 || LabelSmoothing >= 1) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "label smoothing must be in [0, 1)");
        if (DiceWeight < 0) throw new ArgumentOutOfRangeException(nameof(DiceWeight), DiceWeight, "must be non-negative");
        if (AuxiliaryWeight < 0) throw new ArgumentOutOfRangeException(nameof(AuxiliaryWeight), AuxiliaryWeight, "must be non-negative");
        if (Ohem is { MinKept: < 0 }) throw new ArgumentOutOfRangeException(nameof(Ohem), Ohem.MinKept, "OHEM MinKept must be non-negative");
        if (Ohem is { Threshold: < 0 or > 1 }) throw new ArgumentOutOfRangeException(nameof(Ohem), Ohem.Threshold, "OHEM threshold is a probability in [0, 1]");
    }
}
