using System.Text.Json;
using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Profiling;

/// <summary>A tiny attention block whose costs are easy to compute by hand.</summary>
internal sealed class TinyAttention : nn.Module<Tensor, Tensor>
{
    public readonly Linear query = nn.Linear(8, 8);
    public readonly Linear key = nn.Linear(8, 8);
    public readonly Linear value = nn.Linear(8, 8);
    public TinyAttention() : base(nameof(TinyAttention)) { RegisterComponents(); }

    public override Tensor forward(Tensor x) // x [B, N, C]
    {
        using var scope = NewDisposeScope();
        var q = query.call(x);
        var k = key.call(x);
        var v = value.call(x);
        // The products are functional calls, which the profiler does not see: the module reports them, as the models do.
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        OpCount.Matmul(b, n, n, c);
        OpCount.Other("softmax", b * n * n);
        OpCount.Matmul(b, n, c, n);
        var scores = q.matmul(k.transpose(-1, -2)).div(Math.Sqrt(8));   // [B, N, N] : B·N·N·C MACs
        var probs = scores.softmax(-1);
        return probs.matmul(v).MoveToOuterDisposeScope();                // [B, N, C] : B·N·C·N MACs
    }
}

/// <summary>Conv stem → depthwise conv → layer norm → attention → GELU → linear head.</summary>
internal sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d stem = nn.Conv2d(3, 8, 3, padding: 1);
    public readonly Conv2d dw = nn.Conv2d(8, 8, 3, padding: 1, groups: 8, bias: false);
    public readonly LayerNorm norm = nn.LayerNorm(8);
    public readonly TinyAttention attn = new();
    public readonly Sequential head = nn.Sequential(nn.GELU(), nn.Linear(8, 4));
    public TinyNet() : base(nameof(TinyNet)) { RegisterComponents(); }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = dw.call(stem.call(x));                          // [1, 8, 16, 16]
        var t = h.flatten(2).transpose(1, 2);                  // [1, 256, 8]
        t = norm.call(t);
        t = t.add(attn.call(t));
        return head.call(t).MoveToOuterDisposeScope();          // [1, 256, 4]
    }
}

[Collection(BoostFormer.Lib.Tests.ProcessWideSettings.Name)]
public class ProfilerTests
{
    private const long N = 16 * 16;

    [Fact]
    public void Counts_conv_linear_and_attention_macs_per_module_by_hand()
    {
        using var net = new TinyNet();
        var r = Profiler.Profile(net, new long[] { 1, 3, 16, 16 });

        long stem = N * 8 * 3 * 3 * 3, dw = N * 8 * 1 * 3 * 3;
        long qkv = 3 * N * 8 * 8, attn = N * N * 8 + N * 8 * N, head = N * 4 * 8;
        r.Total.Macs(MacKind.Conv).Should().Be(stem + dw);
        r.Total.Macs(MacKind.Linear).Should().Be(qkv + head);
        r.Total.Macs(MacKind.Attention).Should().Be(attn);
        r.Macs.Should().Be(stem + dw + qkv + head + attn);
        r.ConvLinearMacs.Should().Be(stem + dw + qkv + head);

        var byPath = r.Modules.ToDictionary(m => m.Path);
        byPath["stem"].Counts.Macs(MacKind.Conv).Should().Be(stem);
        byPath["dw"].Counts.Macs(MacKind.Conv).Should().Be(dw);
        byPath["attn"].Counts.Macs(MacConvention.All).Should().Be(qkv + attn);
        byPath["attn.query"].Counts.Macs(MacKind.Linear).Should().Be(N * 8 * 8);
        byPath["head.1"].Counts.Macs(MacKind.Linear).Should().Be(head);   // Sequential children are entered via call
        byPath[""].Counts.Macs(MacConvention.All).Should().Be(r.Macs);
        byPath["attn"].Depth.Should().Be(1);
        byPath["attn.key"].Depth.Should().Be(2);
    }

    [Fact]
    public void Counts_parameters_per_module_and_other_ops_as_elements()
    {
        using var net = new TinyNet();
        var r = Profiler.Profile(net, new long[] { 1, 3, 16, 16 });
        r.Params.Should().Be(net.parameters().Sum(p => p.numel()));
        r.Params.Should().Be((3 * 8 * 9 + 8) + 8 * 9 + 16 + 3 * (64 + 8) + (32 + 4));
        var byPath = r.Modules.ToDictionary(m => m.Path);
        byPath["attn"].Params.Should().Be(3 * 72);
        byPath["head"].Params.Should().Be(36);

        byPath["norm"].Counts.Other["norm"].Should().Be(N * 8);
        byPath["attn"].Counts.Other["softmax"].Should().Be(N * N);        // reported by the module
        byPath["head.0"].Counts.Other["activation"].Should().Be(N * 8);
        byPath[""].Counts.Other.ContainsKey("elementwise").Should().BeFalse("functional elementwise ops are not counted");
    }

    [Fact]
    public void Observes_nothing_outside_a_session_and_restores_mode()
    {
        using var net = new TinyNet();
        net.train();
        var r1 = Profiler.Profile(net, new long[] { 2, 3, 16, 16 });
        net.training.Should().BeTrue();
        ProfilingSession.Current.Should().BeNull();
        // batch 2 doubles every count
        var r0 = Profiler.Profile(net, new long[] { 1, 3, 16, 16 });
        r1.Macs.Should().Be(2 * r0.Macs);

        using (var session = new ProfilingSession(net)) { }
        using (var inf = inference_mode())
        using (var y = net.call(randn(1, 3, 16, 16))) { }
        ProfilingSession.Current.Should().BeNull();
        // the hooks are gone: a new session after those calls starts from nothing
        using (var s2 = new ProfilingSession(net)) s2.Counts.Should().BeEmpty();
    }

    [Fact]
    public void A_session_sees_only_its_own_thread()
    {
        using var net = new TinyNet();
        using var session = new ProfilingSession(net);
        var t = new Thread(() =>
        {
            using var inf = inference_mode();
            using var y = net.call(randn(1, 3, 16, 16));
        });
        t.Start();
        t.Join();
        session.Counts.Should().BeEmpty();
        using (var inf = inference_mode())
        using (var y = net.call(randn(1, 3, 16, 16))) { }
        session.Counts.Keys.Should().Contain("stem").And.Contain("attn");
    }

    [Fact]
    public void Renderers_state_the_convention_and_carry_params_and_macs()
    {
        using var net = new TinyNet();
        var r = Profiler.Profile(net, new long[] { 1, 3, 16, 16 }, MacConvention.ConvLinear, "tiny");
        r.Macs.Should().Be(r.ConvLinearMacs);
        using var doc = JsonDocument.Parse(ProfileRenderers.ToJson(r));
        doc.RootElement.GetProperty("params").GetInt64().Should().Be(r.Params);
        doc.RootElement.GetProperty("macs").GetInt64().Should().Be(r.ConvLinearMacs);
        doc.RootElement.GetProperty("macs_all").GetInt64().Should().Be(r.AllMacs);
        doc.RootElement.GetProperty("convention").GetString().Should().Be("conv-linear");
        doc.RootElement.GetProperty("convention_text").GetString().Should().Contain("thop");

        var md = ProfileRenderers.ToMarkdown(r, maxDepth: 1);
        md.Should().Contain("| `stem` |").And.Contain("convention:").And.NotContain("attn.query");
        var csv = ProfileRenderers.ToCsv(r).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        csv[0].Should().StartWith("path,type,depth,params,macs_conv_linear,conv_macs");
        csv.Should().Contain(l => l.StartsWith("attn.query,Linear,2,72,", StringComparison.Ordinal));
        ProfileRenderers.ToText(r).Should().Contain("params: ").And.Contain("(model)");
    }

    [Fact]
    public void Rejects_bad_input_shape_and_convention_name()
    {
        using var net = new TinyNet();
        var act = () => Profiler.Profile(net, new long[] { 1, 3, 0, 16 });
        act.Should().Throw<ArgumentException>().WithMessage("*inputShape*");
        var bad = () => ProfileRenderers.ParseConvention("flops");
        bad.Should().Throw<ArgumentException>().WithMessage("*--convention*");
    }

    [Fact]
    public void Latency_statistics_are_consistent()
    {
        using var net = new TinyNet();
        var r = LatencyBenchmark.Measure(net, x => net.call(x), new long[] { 1, 3, 16, 16 }, warmup: 1, runs: 5, threads: 1);
        r.RunsMs.Should().HaveCount(5);
        r.MinMs.Should().BeLessThanOrEqualTo(r.MedianMs);
        r.MedianMs.Should().BeLessThanOrEqualTo(r.MaxMs);
        r.Threads.Should().Be(1);
        LatencyResult.Median(new[] { 3.0, 1.0, 2.0, 10.0 }).Should().Be(2.5);
    }
}
