using BoostFormer.Data;
using BoostFormer.Training;
using BoostFormer.Training.Evaluation;
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
            Model = "segformer-b0", Dataset = "synthetic", Synthetic = new(128, 64, 5), CropSize = 64, Scale = (128, 128), BatchSize = 2,
            ValLimit = 2, Database = Path.Combine(dir.Path, "runs.db"),
            Trainer = new SegmentationTrainerOptions { RunName = "jobs", Iterations = 3, WarmupIterations = 1, LearningRate = 1e-3 },
        };
        var id = job.Run();
        using var store = RunStore.Open(job.Database);
        var checkpoint = store.Artifacts(id).Last(a => a.Kind == "checkpoint").Path;

        var samples = CheckpointEvaluation.Predictions(checkpoint, "synthetic", null, "val", count: 2);
        samples.Should().HaveCount(2);
        foreach (var s in samples)
        {
            s.Labels.Should().HaveCount(s.Width * s.Height);
            s.Prediction.Should().HaveCount(s.Width * s.Height).And.OnlyContain(p => p >= 0 && p < 5);
            (s.Image.Width, s.Image.Height).Should().Be((s.Width, s.Height), "the image is shown at the label's resolution");
            s.Grid("b0").Should().NotBeNull();
        }
        // The same whole-image inference as the evaluator: the first image's pixel accuracy is its aAcc.
        var eval = CheckpointEvaluation.Evaluate(checkpoint, "synthetic", null, "val", limit: 1);
        samples[0].PixelAccuracy.Should().BeApproximately(eval.Metrics.AllAccuracy, 1e-9);

        // Analyses find the finished run's best checkpoint by name, and load the model it trained.
        var runs = new RunQuery(job.Database).Trained(new[] { "missing", "jobs" });
        runs.Should().ContainSingle().Which.Should().Match<TrainedRun>(r => r.Name == "jobs" && r.Id == id && r.Model == "segformer-b0" && File.Exists(r.Checkpoint));
        using (var trained = new RunQuery(job.Database).TrainedModel("jobs"))
        {
            trained!.Name.Should().Be("segformer-b0");
            trained.Model.config.num_labels.Should().Be(5);
        }
        new RunQuery(Path.Combine(dir.Path, "none.db")).TrainedModel("jobs").Should().BeNull("there is no database");
        new RunQuery(Path.Combine(dir.Path, "none.db")).LatestEncoder().Should().BeNull();
        File.Exists(Path.Combine(dir.Path, "none.db")).Should().BeFalse("looking must not create a database");
        CheckpointEvaluation.Predictions(checkpoint, "synthetic", null, "val", indices: new[] { 1 }).Single().Index.Should().Be(1);
        FluentActions.Invoking(() => CheckpointEvaluation.Predictions(checkpoint, "synthetic", null, "val", indices: new[] { 10_000 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*outside the val split*");
    }
}
