using BoostFormer.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Evaluation;

/// <summary>
/// Evaluates a model over a split: per sample, scores at the label's original size (<see cref="SegmentationInference"/>),
/// argmax, accumulated into one <see cref="ConfusionMatrix"/>; then mIoU, mAcc, aAcc and per-class values. Memory: when
/// the scores of an image at its label's size (classes × height × width floats) would exceed <see cref="ScoreBudgetBytes"/>,
/// they are made in strips of rows that fit it (scores at the inference size, resized strip by strip), so a large image
/// costs its decoded pixels and label plus the budget, not classes × pixels × 4 bytes.
/// </summary>
public static class SegmentationEvaluator
{
    /// <summary>The most memory the full-resolution scores of one image may take (256 MiB); above it they are computed in strips.</summary>
    public const long ScoreBudgetBytes = 256L << 20;

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
                    Func<Tensor, Tensor> logitsOf = x => { using var f = model.Forward(x, false); return f.Logits.alias(); };
                    long h = label.shape[1], w = label.shape[2];
                    if ((long)model.NumClasses * h * w * 4 * s.Image.shape[0] <= ScoreBudgetBytes)
                        cm.Update(SegmentationInference.Predict(logitsOf, s.Image, h, w, options).argmax(1), label);
                    else
                    {
                        var small = SegmentationInference.Predict(logitsOf, s.Image, s.Image.shape[2], s.Image.shape[3], options);
                        var rows = Math.Max(1, ScoreBudgetBytes / (4L * model.NumClasses * w * s.Image.shape[0]));
                        for (long y0 = 0; y0 < h; y0 += rows)
                        {
                            using var strip = NewDisposeScope();
                            var y1 = Math.Min(h, y0 + rows);
                            cm.Update(SegmentationInference.ResizeRows(small, h, w, y0, y1).argmax(1), label.slice(1, y0, y1, 1));
                        }
                    }
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
