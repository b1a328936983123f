using BoostFormer.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Evaluation;

/// <summary>
/// Evaluates a model over a split: per sample, scores at the label's original size (<see cref="SegmentationInference"/>),
/// argmax, accumulated into one <see cref="ConfusionMatrix"/>; then mIoU, mAcc, aAcc and per-class values.
/// </summary>
public static class SegmentationEvaluator
{
    /// <summary>Runs the evaluation. The model is put in eval mode (and restored to its previous mode afterwards).</summary>
    public static SegmentationMetrics Evaluate(ISegmentationModel model, IEnumerable<EvalSample> samples, InferenceOptions? options = null,
        IReadOnlyList<string>? classNames = null, IProgress<int>? progress = null, long ignoreIndex = 255)
    {
        options ??= new InferenceOptions();
        var wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var cm = new ConfusionMatrix(model.NumClasses, ignoreIndex);
            int i = 0;
            foreach (var s in samples)
            {
                using (s)
                using (var scope = NewDisposeScope())
                {
                    var label = s.Label.dim() == 2 ? s.Label.unsqueeze(0) : s.Label;
                    var scores = SegmentationInference.Predict(x => { using var f = model.Forward(x, false); return f.Logits.alias(); },
                        s.Image, label.shape[1], label.shape[2], options);
                    cm.Update(scores.argmax(1), label);
                }
                progress?.Report(++i);
            }
            return cm.Compute(classNames);
        }
        finally
        {
            model.Module.train(wasTraining);
        }
    }
}
