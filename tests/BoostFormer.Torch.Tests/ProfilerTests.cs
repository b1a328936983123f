using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class ProfilerTests
{
    [Fact]
    public void Profile_counts_forward_operators_and_autograd_nodes_with_self_time_within_total()
    {
        using var scope = NewDisposeScope();
        var a = randn(64, 32).requires_grad_();
        var b = randn(32, 16);
        var prof = autograd.profiler.profile();
        using (prof)
        {
            for (int i = 0; i < 3; i++) a.mm(b).relu().sum().backward();
        }
        var rows = prof.key_averages();
        rows.Single(r => r.Name == "aten::mm").Calls.Should().BeGreaterThanOrEqualTo(3 + 3, "three forward products and their input gradients");
        rows.Single(r => r.Name == "aten::relu").Calls.Should().Be(3);
        rows.Should().Contain(r => r.Name.Contains("MmBackward0"), "autograd nodes are recorded too");
        rows.Should().OnlyContain(r => r.SelfCpuUs >= -1e-6 && r.SelfCpuUs <= r.CpuTotalUs + 1e-6 && r.InputShapes.Length == 0);
        rows.Select(r => r.SelfCpuUs).Should().BeInDescendingOrder();
        prof.table(5).Should().Contain("aten::").And.Contain("Self CPU time total");
    }

    [Fact]
    public void Profile_with_shapes_has_one_row_per_input_shape_and_nothing_is_recorded_after_it_ends()
    {
        using var scope = NewDisposeScope();
        var prof = autograd.profiler.profile(record_shapes: true);
        using (prof)
        {
            randn(4, 3).mm(randn(3, 2));
            randn(5, 3).mm(randn(3, 2));
        }
        randn(6, 3).mm(randn(3, 2));
        var mm = prof.key_averages().Where(r => r.Name == "aten::mm").Select(r => r.InputShapes).ToList();
        mm.Should().BeEquivalentTo("[4, 3];[3, 2]", "[5, 3];[3, 2]");
        using var again = autograd.profiler.profile();
        again.key_averages().Should().NotContain(r => r.Name == "aten::mm");
    }
}
