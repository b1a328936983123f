using BoostFormer.Training;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Lib.Tests.Training;

[Collection(GlobalRngCollection.Name)]
public class JobsTests
{
    [Fact]
    public void Predictions_of_a_trained_checkpoint_agree_with_its_evaluation()
    {
        using var dir = new TempDir();
        var job = new SegmentationJob
        {
            Model = "segformer-b0", Dataset = "synthetic", Synthetic = (128, 64, 5), CropSize = 64, Scale = (128, 128), BatchSize = 2,
            ValLimit = 2, Database = Path.Combine(dir.Path, "runs.db"),
            Trainer = new SegmentationTrainerOptions { RunName = "jobs", Iterations = 3, WarmupIterations = 1, LearningRate = 1e-3 },
        };
        var id = Jobs.Train(job);
        using var store = RunStore.Open(job.Database);
        var checkpoint = store.Artifacts(id).Last(a => a.Kind == "checkpoint").Path;

        var samples = Jobs.Predictions(checkpoint, "synthetic", null, "val", count: 2);
        samples.Should().HaveCount(2);
        foreach (var s in samples)
        {
            s.Labels.Should().HaveCount(s.Width * s.Height);
            s.Prediction.Should().HaveCount(s.Width * s.Height).And.OnlyContain(p => p >= 0 && p < 5);
            (s.Image.Width, s.Image.Height).Should().Be((s.Width, s.Height), "the image is shown at the label's resolution");
            s.Grid("b0").Should().NotBeNull();
        }
        // The same whole-image inference as the evaluator: the first image's pixel accuracy is its aAcc.
        var eval = Jobs.Evaluate(checkpoint, "synthetic", null, "val", limit: 1);
        samples[0].PixelAccuracy.Should().BeApproximately(eval.Metrics.AllAccuracy, 1e-9);
    }
}
