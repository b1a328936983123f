using System.Reflection;
using BoostFormer.Models;
using BoostFormer.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Engine;

/// <summary>
/// Training-mode BatchNorm never runs TorchSharp's <c>BatchNorm.forward</c> (its <c>num_batches_tracked.add_(1)</c> passes an
/// unrooted Scalar to LibTorch: "Unknown scalar type" after 1,850 pretraining iterations of BoostFormer-B0). Every model
/// and zoo module routes BatchNorm through <see cref="SegformerLayout.BatchNorm"/>, which computes the same thing. This is
/// the behavioural side of <c>ScalarLifetimeTests</c>, which cannot tell from IL which module a virtual call reaches.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class BatchNormTrainingPathTests
{
    /// <summary>Counts calls of TorchSharp's own forward on every BatchNorm of <paramref name="root"/> (a forward pre-hook fires on Module.call).</summary>
    private static Func<int> CountModuleCalls(nn.Module root)
    {
        var count = 0;
        foreach (var (_, m) in root.named_modules())
        {
            if (m is not TorchSharp.Modules.BatchNorm) continue;
            var t = m.GetType();
            while (t is not null && !(t.IsGenericType && t.GetGenericTypeDefinition() == typeof(nn.HookableModule<,>))) t = t.BaseType;
            var pre = t!.GetMethod("register_forward_pre_hook", new[] { typeof(Action<nn.Module>) })!;
            pre.Invoke(m, new object[] { (Action<nn.Module>)(_ => Interlocked.Increment(ref count)) });
        }
        return () => count;
    }

    public static IEnumerable<object[]> Configs()
    {
        foreach (var name in new[] { "segformer-b0", "boostformer-b0" }.Concat(ZooModels.Names)) yield return new object[] { name, "" };
        foreach (var module in ZooModule.All) yield return new object[] { "segformer-b0", module.Tag };
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Training_forward_never_calls_torchsharps_batchnorm_module(string model, string zooTag)
    {
        using var scope = NewDisposeScope();
        var config = SegformerConfig.FromName(model, 4);
        if (zooTag.Length > 0) config = ZooModule.All.Single(m => m.Tag == zooTag).Apply(config);
        using var net = new SegformerForSemanticSegmentation(config);
        net.train();
        var calls = CountModuleCalls(net);
        var norms = net.modules().OfType<TorchSharp.Modules.BatchNorm>().ToList();
        using var x = randn(2, 3, 64, 64);
        net.call(x).sum().backward();
        calls().Should().Be(0, "training-mode BatchNorm must go through SegformerLayout.BatchNorm");
        foreach (var n in norms.Where(n => n.num_batches_tracked is not null))
            n.num_batches_tracked!.item<long>().Should().BeGreaterThan(0, "the running statistics advanced");
    }

    [Fact]
    public void The_counter_sees_a_direct_module_call()
    {
        using var scope = NewDisposeScope();
        using var seq = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4));
        seq.train();
        var calls = CountModuleCalls(seq);
        seq.call(randn(2, 3, 4, 4));
        calls().Should().Be(1, "a BatchNorm run through Module.call must be counted, or the tests above prove nothing");
        SegformerLayout.Sequential(seq, randn(2, 3, 4, 4));
        calls().Should().Be(1, "SegformerLayout.Sequential routes the BatchNorm around its module forward");
    }

    [Fact]
    public void The_auxiliary_head_trains_without_torchsharps_batchnorm_module()
    {
        using var scope = NewDisposeScope();
        using var head = new FCNHead(8, 8, 4);
        head.train();
        var calls = CountModuleCalls(head);
        head.call(randn(2, 8, 8, 8)).sum().backward();
        calls().Should().Be(0);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(null)]
    public void The_training_path_equals_torchsharps_batchnorm(double? momentum)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var ours = nn.BatchNorm2d(5, momentum: momentum ?? 0.1);
        using var theirs = nn.BatchNorm2d(5, momentum: momentum ?? 0.1);
        if (momentum is null) { ours.momentum = null; theirs.momentum = null; }
        using (no_grad()) { ours.weight!.uniform_(0.5, 1.5); theirs.weight!.copy_(ours.weight!); }
        ours.train(); theirs.train();
        for (var step = 0; step < 3; step++)
        {
            var x = randn(4, 5, 6, 6).mul(Scalars.Of(step + 1.0));
            var a = SegformerLayout.BatchNorm(ours, x);
            var b = theirs.call(x);
            a.allclose(b, 1e-6, 1e-6).Should().BeTrue($"step {step} output");
        }
        ours.running_mean!.allclose(theirs.running_mean!, 1e-6, 1e-7).Should().BeTrue();
        ours.running_var!.allclose(theirs.running_var!, 1e-6, 1e-7).Should().BeTrue();
        ours.num_batches_tracked!.item<long>().Should().Be(theirs.num_batches_tracked!.item<long>());
    }
}
