using BoostFormer.Models;
using BoostFormer.Profiling;

namespace BoostFormer.Lib.Tests.Profiling;

public class OptimizationWaterfallTests
{
    [Fact]
    public void The_rungs_start_from_the_naive_port_and_add_one_optimisation_each()
    {
        var steps = OptimizationWaterfall.Steps;
        steps[0].Should().Be(new OptimizationStep(steps[0].Label, false, false, Precision.Fp32, ChannelsLast: false), "the first rung is the HF graph as written");
        steps[^1].Should().Be(new OptimizationStep(steps[^1].Label, true, true, Precision.Bf16, ChannelsLast: true), "the last rung is the fastest path");
        for (var i = 1; i < steps.Count; i++)
        {
            var changed = (steps[i].Sdpa != steps[i - 1].Sdpa ? 1 : 0) + (steps[i].FusedDecoder != steps[i - 1].FusedDecoder ? 1 : 0) +
                          (steps[i].Precision != steps[i - 1].Precision ? 1 : 0) + (steps[i].ChannelsLast != steps[i - 1].ChannelsLast ? 1 : 0);
            changed.Should().Be(1, $"rung {i} ({steps[i].Label}) adds exactly one optimisation to the one before");
        }
    }

    [Fact]
    public void Every_rung_is_measured_and_compared_with_the_first()
    {
        var rungs = OptimizationWaterfall.Measure("segformer-b0", new InputSize(64, 64), warmup: 0, runs: 1, classes: 4);
        rungs.Should().HaveCount(OptimizationWaterfall.Steps.Count);
        rungs[0].SpeedupVsNaive.Should().Be(1.0);
        foreach (var r in rungs)
        {
            r.Latency.MedianMs.Should().BePositive();
            r.SpeedupVsNaive.Should().BeApproximately(rungs[0].Latency.MedianMs / r.Latency.MedianMs, 1e-12);
        }
        OptimizationWaterfall.ToTable(rungs).Rows.Should().HaveCount(rungs.Count);
    }
}
