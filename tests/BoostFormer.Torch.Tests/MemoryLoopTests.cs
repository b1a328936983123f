using BoostFormer.Torch.Modules;
using Xunit.Abstractions;
using static BoostFormer.Torch.torch;
using F = BoostFormer.Torch.torch.nn.functional;

namespace BoostFormer.Torch.Tests;

/// <summary>A 1,000-iteration training loop under dispose scopes must keep native memory flat.</summary>
[Collection(MemoryMeasurement.Name)]
public class MemoryLoopTests
{
    private readonly ITestOutputHelper _out;
    public MemoryLoopTests(ITestOutputHelper output) { _out = output; }

    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        public readonly Conv2d conv;
        public readonly BatchNorm2d bn;
        public readonly LayerNorm norm;
        public readonly Linear classifier;
        public Net() : base(nameof(Net))
        {
            conv = new Conv2d(3, 16, 3, padding: 1);
            bn = new BatchNorm2d(16);
            norm = new LayerNorm(16);
            classifier = new Linear(16, 4);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = F.gelu(bn.call(conv.call(x)));
            h = F.interpolate(h, new long[] { 4, 4 }, mode: InterpolationMode.Bilinear, align_corners: false);
            var t = norm.call(h.flatten(2).transpose(1, 2));   // [N, 16 tokens, 16]
            return classifier.call(t.mean(1)).MoveToOuterDisposeScope();
        }
    }

    private static long RssBytes()
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1]) * Environment.SystemPageSize;
    }

    [Fact]
    public void ThousandIterationTrainingLoopKeepsRssFlat()
    {
        manual_seed(0);
        using var net = new Net();
        using var x = randn(8, 3, 8, 8);
        using var y = randint(0, 4, new long[] { 8 });
        var ps = net.parameters().ToArray();
        void Step()
        {
            using var scope = NewDisposeScope();
            var logits = net.call(x);
            var loss = F.cross_entropy(logits, y, label_smoothing: 0.1);
            net.zero_grad();
            loss.backward();
            using (no_grad())
                foreach (var p in ps)
                    p.sub_(p.grad!, 0.01); // p.grad is a new handle owned by the scope
        }
        for (int i = 0; i < 100; i++) Step(); // warm-up: allocator caches, op lookups, JIT
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        var before = RssBytes();
        for (int i = 0; i < 1000; i++) Step();
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        var after = RssBytes();
        var growth = (after - before) / (double)before;
        _out.WriteLine($"RSS after warm-up {before / 1048576.0:F1} MiB, after 1000 iterations {after / 1048576.0:F1} MiB, growth {growth * 100:F2}%");
        Console.WriteLine($"[MemoryLoop] RSS growth over 1000 iterations: {growth * 100:F2}% ({before} -> {after} bytes)");
        growth.Should().BeLessThan(0.05);
        using var final = net.call(x);
        using var loss = F.cross_entropy(final, y);
        loss.item<float>().Should().BeLessThan(1.3f, "the loop actually trains");
    }
}
