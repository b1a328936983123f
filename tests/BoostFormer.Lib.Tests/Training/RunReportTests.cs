using BoostFormer.Training.Tracking;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Training;

public class RunReportTests
{
    [Fact]
    public void Report_reads_best_and_final_validation_throughput_and_initialisation_from_the_database()
    {
        using var dir = new TempDir();
        using var s = RunStore.Open(Path.Combine(dir.Path, "runs.db"));
        var a = s.CreateRun("scratch", "segmentation", "segformer-b0", "{}", "{\"crop\":256,\"batch_size\":4,\"pretrained\":null}", "{}", "0123456789abcdef");
        s.LogMetrics(a, "train", 1, new Dictionary<string, double> { ["loss"] = 2.0, ["images_per_s"] = 3.0 });
        s.LogMetrics(a, "train", 2, new Dictionary<string, double> { ["loss"] = 1.5, ["images_per_s"] = 5.0 });
        s.LogMetrics(a, "eval", 1, new Dictionary<string, double> { ["miou"] = 0.30, ["macc"] = 0.4, ["aacc"] = 0.8 });
        s.LogMetrics(a, "eval", 2, new Dictionary<string, double> { ["miou"] = 0.25, ["macc"] = 0.35, ["aacc"] = 0.75 });
        s.EndRun(a, RunStore.Finished);
        var b = s.CreateRun("pretrained", "segmentation", "segformer-b0", "{}", "{\"crop\":256,\"batch_size\":4,\"pretrained\":\"/r/pretrain-demo/encoder.safetensors\"}", "{}");
        var p = s.CreateRun("pre", "pretrain", "segformer-b0", "{}", "{}", "{}");

        var rows = RunReport.Rows(s, new[] { a, b });
        rows[0].Should().BeEquivalentTo(new
        {
            Run = "scratch", Initialisation = "random", Iterations = 2L, BatchSize = 4, Crop = 256, BestValMIoU = 0.30, BestStep = 1L,
            FinalValMIoU = 0.25, FinalValMAcc = 0.35, FinalValAAcc = 0.75, ImagesPerSecond = 4.0,
        }, o => o.ExcludingMissingMembers());
        rows[0].WallMinutes.Should().BeGreaterThanOrEqualTo(0);
        rows[1].Initialisation.Should().Be("encoder pretrain-demo");
        rows[1].BestValMIoU.Should().BeNull("it has not been evaluated");
        double.IsNaN(rows[1].WallMinutes).Should().BeTrue("it has not ended");

        var (md, csv) = RunReport.Write(rows, Path.Combine(dir.Path, "results"), "camvid", "CamVid fine-tuning", "boostformer notebooks run …");
        var text = File.ReadAllText(md);
        text.Should().StartWith("# CamVid fine-tuning").And.Contain("| scratch | segformer-b0 | random | 2 | 4 | 256 | 30 | 1 | 25 |").And.Contain("0123456789ab");
        File.ReadAllLines(csv)[0].Should().StartWith("Run,Model,Initialisation,Iterations");
        File.ReadAllLines(csv)[1].Should().StartWith("scratch,segformer-b0,random,2,4,256,0.3,1,0.25,");
        Directory.GetFiles(Path.Combine(dir.Path, "results")).Should().HaveCount(2, "no temporary files are left");

        FluentActions.Invoking(() => RunReport.Rows(s, new[] { p })).Should().Throw<ArgumentException>().WithMessage("*pretrain run*");
        FluentActions.Invoking(() => RunReport.Rows(s, new[] { 99L })).Should().Throw<ArgumentException>().WithMessage("*no run 99*");
    }

    [Fact]
    public void Differences_name_what_each_run_changes_against_the_first_and_land_in_the_markdown()
    {
        using var dir = new TempDir();
        using var s = RunStore.Open(Path.Combine(dir.Path, "runs.db"));
        const string data = "{\"crop\":384,\"batch_size\":4,\"pretrained\":\"/a/run-1/encoder.safetensors\"}";
        var reference = s.CreateRun("ref", "segmentation", "boostformer-b0", "{\"depth\":2}", data, "{\"lr\":0.0004,\"warmup\":30}");
        var lr = s.CreateRun("lr8", "segmentation", "boostformer-b0", "{\"depth\":2}", data.Replace("/a/", "/b/"), "{\"lr\":0.0008,\"warmup\":30}");
        var crop = s.CreateRun("crop", "segmentation", "boostformer-b0", "{\"depth\":2}", data.Replace("384", "256").Replace("\"batch_size\":4", "\"batch_size\":8"),
            "{\"lr\":0.0004,\"warmup\":30,\"precision\":\"bf16\"}");
        var other = s.CreateRun("other", "segmentation", "segformer-b0", "{\"depth\":3}", data, "{\"lr\":0.0004,\"warmup\":30}");
        foreach (var id in new[] { reference, lr, crop, other }) s.EndRun(id, RunStore.Finished);

        var d = RunReport.Differences(s, new[] { reference, lr, crop, other });
        d.Select(x => x.Run).Should().Equal("ref", "lr8", "crop", "other");
        d[0].Changes.Should().BeEmpty();
        d[1].Changes.Should().Equal(new[] { "lr 0.0004 → 0.0008" }, "a different encoder path is the same recipe and is not a change");
        d[2].Changes.Should().BeEquivalentTo("precision null → \"bf16\"", "data crop 384 → 256", "data batch_size 4 → 8");
        d[3].Changes.Should().Equal("model boostformer-b0 → segformer-b0");

        var rows = RunReport.Rows(s, new[] { reference, lr, crop, other });
        var (md, _) = RunReport.Write(rows, dir.Path, "sweep", "Sweep", "scripts/sweep-camvid.sh", d);
        File.ReadAllText(md).Should().Contain("- What each run changes against ref (recorded configurations):\n  - lr8: lr 0.0004 → 0.0008\n  - crop: ");
    }

    [Fact]
    public void Csv_quotes_fields_that_need_it_and_keeps_full_precision()
    {
        var t = new Table(new[] { "name", "value" }, new[] { new object?[] { "a,b", 0.1 + 0.2 }, new object?[] { "say \"hi\"", null } });
        t.ToCsv().Should().Be("name,value\n\"a,b\",0.30000000000000004\n\"say \"\"hi\"\"\",\n");
    }
}
