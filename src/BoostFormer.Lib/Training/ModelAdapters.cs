using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary><see cref="ISegmentationModel"/> over <see cref="SegformerForSemanticSegmentation"/> (SegFormer and BoostFormer).</summary>
public sealed class SegformerSegmentationModel : ISegmentationModel
{
    /// <summary>Wraps <paramref name="model"/>.</summary>
    public SegformerSegmentationModel(SegformerForSemanticSegmentation model) { Model = model; }
    /// <summary>The wrapped model.</summary>
    public SegformerForSemanticSegmentation Model { get; }
    /// <inheritdoc />
    public nn.Module Module => Model;
    /// <inheritdoc />
    public int NumClasses => Model.config.num_labels;
    /// <inheritdoc />
    public long Stage3Channels => Model.config.hidden_sizes[2];

    /// <inheritdoc />
    public SegmentationForward Forward(Tensor pixelValues, bool withStage3)
    {
        if (!withStage3) return new SegmentationForward(Model.call(pixelValues));
        var o = Model.forward(pixelValues, null, output_hidden_states: true);
        var hs = o.hidden_states!;
        for (int i = 0; i < hs.Count; i++) if (i != 2) hs[i].Dispose();
        return new SegmentationForward(o.logits, hs[2]);
    }
}
