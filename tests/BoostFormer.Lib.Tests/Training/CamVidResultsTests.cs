using BoostFormer.Tests;
using BoostFormer.Training;
using BoostFormer.Training.Evaluation;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Lib.Tests.Training;

[Collection(GlobalRngCollection.Name)]
public class CamVidResultsTests
{
    [Fact]
    public void A_trained_checkpoint_is_measured_like_eval_and_written_beside_the_published_anchors()
    {
        using var dir = new TempDir();
        var job = new SegmentationJob
        {
            Model = "segformer-b0", Dataset = "camvid", Root = TestPaths.Data, CropSize = 64, Scale = (240, 180), BatchSize = 1,
            TrainLimit = 2, ValLimit = 2, Database = Path.Combine(dir.Path, "runs.db"),
            Trainer = new SegmentationTrainerOptions { RunName = "camvid-results", Iterations = 2, WarmupIterations = 1, LearningRate = 1e-3 },
        };
        var id = job.Run();
        using var store = RunStore.Open(job.Database);
        var checkpoint = store.Artifacts(id).Last(a => a.Kind == "checkpoint").Path;

        var row = CamVidResults.Measure("camvid-results", checkpoint, TestPaths.Data, valLimit: 2, latencyRuns: 1);
        var eval = CheckpointEvaluation.Evaluate(checkpoint, "camvid", TestPaths.Data, "val", limit: 2);
        row.ValMIoU.Should().Be(eval.Metrics.MeanIoU, "the row's metrics are the eval verb's on the same images");
        row.ValAAcc.Should().Be(eval.Metrics.AllAccuracy);
        row.Images.Should().Be(2);
        row.Parameters.Should().Be(eval.Parameters);
        row.PerClassIoU.Keys.Should().Equal(eval.Metrics.ClassNames);
        // SegFormer-B0 at 360x480: about 8.4 GMAC at 512x512 scales with the pixels (0.66x) to roughly 5-7 GMAC.
        row.GMacsAll.Should().BeInRange(4, 8);
        row.GMacsConvLinear.Should().BeLessThan(row.GMacsAll);
        row.LatencyMs.Should().BePositive();
        row.TrainIterations.Should().Be(2, "a training checkpoint records its iteration");

        var (md, csv) = CamVidResults.Write(new[] { row }, Path.Combine(dir.Path, "results"), "camvid", "boostformer notebooks run …");
        var text = File.ReadAllText(md);
        foreach (var p in CamVidResults.Published)
        {
            text.Should().Contain(p.Model).And.Contain(p.TestMIoU.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)).And.Contain(p.Citation);
        }
        text.Should().Contain("validation").And.Contain("test", "the table says which split each number is from");
        text.Should().Contain((100 * row.ValMIoU).ToString("F2", System.Globalization.CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.'));
        File.ReadAllLines(csv).Should().HaveCount(2, "a header and one row of ours");
        CamVidResults.AccuracyVsMacs(new[] { row }).Traces.Should().HaveCount(1 + CamVidResults.Published.Count);
    }
}
