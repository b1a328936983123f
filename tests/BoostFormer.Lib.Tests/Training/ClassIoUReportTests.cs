using BoostFormer.Metrics;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Lib.Tests.Training;

public class ClassIoUReportTests
{
    [Fact]
    public void Rows_read_the_last_evaluation_of_a_run_and_the_metrics_of_an_evaluation()
    {
        using var dir = new TempDir();
        using var s = RunStore.Open(Path.Combine(dir.Path, "runs.db"));
        var a = s.CreateRun("plain-ce", "segmentation", "segformer-b0", "{}", "{}", "{}");
        s.LogMetrics(a, "eval", 5, new Dictionary<string, double> { ["miou"] = 0.20, ["iou.Pole"] = 0.0, ["iou.Road"] = 0.8 });
        s.LogMetrics(a, "eval", 10, new Dictionary<string, double> { ["miou"] = 0.30, ["iou.Pole"] = 0.05, ["iou.Road"] = 0.9, ["iou.Fence"] = double.NaN });
        var last = ClassIoUReport.FromRun(s, a, "plain CE");
        last.Should().BeEquivalentTo(new { Label = "plain CE", MeanIoU = 0.30 }, o => o.ExcludingMissingMembers());
        last["Pole"].Should().Be(0.05);
        double.IsNaN(last["Bicyclist"]).Should().BeTrue("the run has no such class");
        ClassIoUReport.FromRun(s, a, step: 5)["Pole"].Should().Be(0.0);
        ClassIoUReport.FromRun(s, a, step: 5).Label.Should().Be("plain-ce");

        // confusion matrix rows = ground truth: class 0 (TP 3, FN 1, FP 1) → 3/5; class 1 (TP 2, FN 1, FP 1) → 2/4
        var m = SegmentationMetrics.FromConfusionMatrix(new long[,] { { 3, 1 }, { 1, 2 } }, new[] { "Pole", "Road" });
        var r = ClassIoUReport.FromMetrics("tta", m);
        r["Pole"].Should().BeApproximately(0.6, 1e-12);
        r.MeanIoU.Should().BeApproximately(0.55, 1e-12);

        var table = ClassIoUReport.ToTable(new[] { last, r }, new[] { "Pole", "Fence" }, labelHeader: "rung").ToMarkdown();
        table.Should().Contain("rung").And.Contain("Pole IoU %").And.Contain("| plain CE | 30.0 | 5.0 | — |").And.Contain("| tta | 55.0 | 60.0 | — |");

        var empty = s.CreateRun("never-evaluated", "segmentation", "segformer-b0", "{}", "{}", "{}");
        FluentActions.Invoking(() => ClassIoUReport.FromRun(s, empty)).Should().Throw<ArgumentException>().WithMessage("*never-evaluated*no evaluation*");
    }
}
