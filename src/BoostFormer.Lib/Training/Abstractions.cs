using BoostFormer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>A segmentation model's training outputs: logits (e.g. at 1/4 resolution) and, on request, the stage-3 features.</summary>
public sealed class SegmentationForward : IDisposable
{
    /// <summary>Wraps the outputs (this object owns them).</summary>
    public SegmentationForward(Tensor logits, Tensor? stage3 = null) { Logits = logits; Stage3 = stage3; }
    /// <summary>Logits [N, K, h, w].</summary>
    public Tensor Logits { get; }
    /// <summary>Encoder stage-3 output [N, C3, H/16, W/16] (input of the auxiliary FCN head), or null.</summary>
    public Tensor? Stage3 { get; }
    /// <inheritdoc />
    public void Dispose() { Logits.Dispose(); Stage3?.Dispose(); }
}

/// <summary>
/// What the trainer and the evaluator need from a segmentation network. A thin adapter over
/// <c>SegformerForSemanticSegmentation</c> (or any <see cref="nn.Module"/>) implements it.
/// </summary>
public interface ISegmentationModel
{
    /// <summary>The module (parameters, state dict, train/eval mode).</summary>
    nn.Module Module { get; }
    /// <summary>Number of classes K of the logits.</summary>
    int NumClasses { get; }
    /// <summary>Channels of the stage-3 features (for the auxiliary head), or 0 if the model cannot provide them.</summary>
    long Stage3Channels { get; }
    /// <summary>Runs the network on normalised images [N, 3, H, W].</summary>
    SegmentationForward Forward(Tensor pixelValues, bool withStage3);
}

/// <summary>A training batch: normalised images [N, 3, H, W] (float32) and labels [N, H, W] (int64, 255 = ignore).</summary>
public sealed class SegmentationBatch : IDisposable
{
    /// <summary>Wraps the tensors (this object owns them).</summary>
    public SegmentationBatch(Tensor images, Tensor labels) { Images = images; Labels = labels; }
    /// <summary>Images.</summary>
    public Tensor Images { get; }
    /// <summary>Labels.</summary>
    public Tensor Labels { get; }
    /// <inheritdoc />
    public void Dispose() { Images.Dispose(); Labels.Dispose(); }
}

/// <summary>
/// Segmentation training batches (see <see cref="IBatchSource{TBatch}"/>: deterministic in seed, epoch and position, so a
/// resumed run is exact). <see cref="DatasetBatchSource"/> adapts the data layer's loader.
/// </summary>
public interface ISegmentationBatchSource : IBatchSource<SegmentationBatch>;

/// <summary>A validation sample: the normalised image [1, 3, h, w] at test scale and its label [H, W] at the original size.</summary>
public sealed class EvalSample : IDisposable
{
    /// <summary>Wraps the tensors (this object owns them).</summary>
    public EvalSample(Tensor image, Tensor label) { Image = image; Label = label; }
    /// <summary>Image.</summary>
    public Tensor Image { get; }
    /// <summary>Label at the original resolution.</summary>
    public Tensor Label { get; }
    /// <inheritdoc />
    public void Dispose() { Image.Dispose(); Label.Dispose(); }
}
