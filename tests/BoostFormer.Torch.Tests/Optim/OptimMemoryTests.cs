using Xunit.Abstractions;
using static BoostFormer.Torch.torch;
using static BoostFormer.Torch.torch.optim;

namespace BoostFormer.Torch.Tests.Optim;

/// <summary>Tests that read process-wide state (RSS, the global generator): run alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public class OptimSerialCollection
{
    public const string Name = "Optim (serial: RSS and global RNG)";
}

[Collection(OptimSerialCollection.Name)]
public class OptimMemoryTests
{
    private readonly ITestOutputHelper _out;
    public OptimMemoryTests(ITestOutputHelper output) { _out = output; }

    private static long RssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    [Fact]
    public void TwoThousandAdamWStepsKeepRssFlat()
    {
        // One intra-op thread: the RSS figure does not depend on the thread pool, and the test stays quick on a loaded machine.
        // (Run one op first: the binding sets the thread count when its first operator is looked up.)
        using (var warm = zeros(1)) { }
        var threads = get_num_threads();
        set_num_threads(1);
        try { Run(); }
        finally { set_num_threads(threads); }
    }

    private void Run()
    {
        manual_seed(0);
        using var model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.LayerNorm(256), nn.Linear(256, 10));
        var named = model.named_parameters().ToList();
        var noDecay = named.Where(n => n.name.EndsWith("bias") || n.name.StartsWith("2.")).Select(n => (Tensor)n.parameter).ToList();
        var decay = named.Select(n => (Tensor)n.parameter).Except(noDecay).ToList();
        using var opt = optim.AdamW(new[] { new ParamGroup(decay, amsgrad: true), new ParamGroup(noDecay, weight_decay: 0, lr: 1e-2) }, lr: 1e-3, weight_decay: 0.01);
        var sched = lr_scheduler.get_polynomial_decay_schedule_with_warmup(opt, 100, 2000);
        using var x = randn(32, 64);
        using var y = randint(10, new long[] { 32 });

        double firstLoss = 0, lastLoss = 0;
        void Step(int i)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            opt.step();
            sched.step();
            if (i == 0) firstLoss = loss.item<float>();
            lastLoss = loss.item<float>();
            if (i % 500 == 499) { using var st = opt.state_dict(); st.Tensors.Count.Should().Be(3 * named.Count + decay.Count); } // step, exp_avg, exp_avg_sq (+ max_exp_avg_sq with amsgrad)
        }

        const int Warmup = 200, Total = 2000;
        for (int i = 0; i < Warmup; i++) Step(i);
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        var rss0 = RssBytes();
        for (int i = Warmup; i < Total; i++) Step(i);
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        var rss1 = RssBytes();
        var growth = rss1 - rss0;
        _out.WriteLine($"RSS after {Warmup} steps: {rss0 / 1048576.0:F1} MiB; after {Total}: {rss1 / 1048576.0:F1} MiB; growth {growth / 1048576.0:F2} MiB ({100.0 * growth / rss0:F2}%); loss {firstLoss:F4} -> {lastLoss:F4}");
        lastLoss.Should().BeLessThan(firstLoss, "the model is being trained");
        // A leak of one small tensor per parameter per step would be 1,800 × 6 handles ≥ ~20 MiB of native memory here.
        growth.Should().BeLessThan(Math.Max(16L << 20, rss0 / 10), "2,000 AdamW steps must not grow memory");
    }
}
