using BoostFormer.Models;
using BoostFormer.Profiling;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Profiling;

[Collection(BoostFormer.Lib.Tests.ProcessWideSettings.Name)]
public class ModuleTimerTests
{
    /// <summary>A module whose forward sleeps <c>ms</c> milliseconds around its own work: its self time is known from outside.</summary>
    private sealed class Sleeper : nn.Module<Tensor, Tensor>
    {
        private readonly int _ms;
        public Sleeper(int ms) : base(nameof(Sleeper)) { _ms = ms; }
        public override Tensor forward(Tensor x) { Thread.Sleep(_ms); return x.alias(); }
    }

    /// <summary>A parent that sleeps itself and calls two children, one of them a sleeper.</summary>
    private sealed class Parent : nn.Module<Tensor, Tensor>
    {
        public readonly Sleeper slow;
        public readonly TorchSharp.Modules.Linear proj;
        public Parent() : base(nameof(Parent))
        {
            slow = new Sleeper(40);
            proj = nn.Linear(8, 8);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) { Thread.Sleep(15); return proj.call(slow.call(x)); }
    }

    [Fact]
    public void Self_time_excludes_the_children_and_lands_on_the_module_that_spent_it()
    {
        using var model = new Parent();
        var macs = Profiler.Profile(model, x => model.call(x), new long[] { 4, 8 }, MacConvention.All, "parent");
        var r = ModuleTimer.Measure(model, x => model.call(x), new long[] { 4, 8 }, macs, warmup: 1, runs: 3, threads: 1);
        var sleeper = r.ByType.Single(t => t.Key == nameof(Sleeper));
        var parent = r.ByType.Single(t => t.Key == nameof(Parent));
        sleeper.SelfMs.Should().BeInRange(38, 80, "the child's 40 ms sleep is its own");
        parent.SelfMs.Should().BeInRange(13, 35, "the parent's 15 ms sleep, without the child's 40");
        r.ByType.Sum(t => t.SelfMs).Should().BeApproximately(r.ForwardMs, 1e-6, "the split covers the whole forward");
        r.ByType.Single(t => t.Key == "Linear").GMacs.Should().BeApproximately(4 * 8 * 8 / 1e9, 1e-15, "MACs come from the profile of the same module");
        r.ByModule.Select(m => m.Key).Should().Contain(new[] { "(root)", "slow", "proj" });
        r.Lines(2).Should().HaveCount(4).And.Subject.Skip(2).First().Should().Contain(nameof(Sleeper), "lines are by self time, largest first");
    }

    [Fact]
    public void A_segformer_forward_splits_into_module_types_whose_macs_add_up_to_the_profile()
    {
        var config = SegformerConfig.FromName("boostformer-b0", 19);
        var r = SegformerProfiling.ModuleTimes(config, new InputSize(64, 64), warmup: 1, runs: 1, threads: 1);
        using var model = new SegformerForSemanticSegmentation(config).SetOptimizations(true, true);
        model.eval();
        var p = Profiler.Profile(model, x => model.call(x), new InputSize(64, 64).Shape(), MacConvention.All, "b0");
        r.ByType.Sum(t => t.GMacs).Should().BeApproximately(p.AllMacs / 1e9, 1e-9);
        r.ByType.Select(t => t.Key).Should().Contain(new[] { "Conv2d", "BatchNorm2d", "BoostformerWeightedSumDecodeHead" });
        r.ByType.Should().OnlyContain(t => t.SelfMs >= 0 && t.Share >= 0 && t.Share <= 1);

        var other = SegformerProfiling.ModuleTimes(SegformerConfig.FromName("segformer-b0", 19), new InputSize(64, 64), warmup: 0, runs: 1, threads: 1, name: "segformer-b0");
        var table = ModuleTimeReports.Compare(new[] { r with { Model = "boostformer-b0" }, other }, top: 3);
        table.Columns.Should().OnlyHaveUniqueItems().And.HaveCount(7);
        table.Frame.Rows.Count.Should().BeGreaterThanOrEqualTo(4, "the top 3 types of either model and the whole-forward row");
        FluentActions.Invoking(() => ModuleTimeReports.Compare(new[] { other, other })).Should().Throw<ArgumentException>().WithMessage("*distinct*");
        ModuleTimeReports.ToChart(new[] { other }).Should().NotBeNull();
    }
}
