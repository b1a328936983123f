using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

// A small SegFormer-shaped module tree: field names become state-dict keys.
internal sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d proj;
    public readonly LayerNorm layer_norm;
    public PatchEmbed(long cin, long cout) : base(nameof(PatchEmbed))
    {
        proj = new Conv2d(cin, cout, 3, stride: 2, padding: 1);
        layer_norm = new LayerNorm(cout);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var y = proj.call(x);
        using var t = y.flatten(2).transpose(1, 2);
        return layer_norm.call(t);
    }
}

internal sealed class TinyEncoder : nn.Module<Tensor, Tensor>
{
    public readonly ModuleList<PatchEmbed> patch_embeddings;
    public readonly Sequential head;
    public readonly BatchNorm2d bn;
    public TinyEncoder() : base(nameof(TinyEncoder))
    {
        patch_embeddings = new ModuleList<PatchEmbed>(new PatchEmbed(3, 4), new PatchEmbed(4, 8));
        head = new Sequential(new Linear(8, 8), new GELU(), new Dropout(0.1), new Linear(8, 2, hasBias: false));
        bn = new BatchNorm2d(3);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => throw new NotSupportedException();
}

public class ModuleTests
{
    [Fact]
    public void StateDictKeysFollowFieldNamesLikePyTorch()
    {
        using var m = new TinyEncoder();
        m.state_dict().Keys.Should().Equal(
            "patch_embeddings.0.proj.weight", "patch_embeddings.0.proj.bias",
            "patch_embeddings.0.layer_norm.weight", "patch_embeddings.0.layer_norm.bias",
            "patch_embeddings.1.proj.weight", "patch_embeddings.1.proj.bias",
            "patch_embeddings.1.layer_norm.weight", "patch_embeddings.1.layer_norm.bias",
            "head.0.weight", "head.0.bias", "head.3.weight",
            "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked");
        m.named_parameters().Select(p => p.name).Should().NotContain(n => n.StartsWith("bn.running") || n.EndsWith("num_batches_tracked"));
        m.named_buffers().Select(b => b.name).Should().Equal("bn.running_mean", "bn.running_var", "bn.num_batches_tracked");
        m.named_modules().Select(x => x.name).Should().Contain(new[] { "", "patch_embeddings", "patch_embeddings.1.proj", "head.2" });
        m.get_submodule("patch_embeddings.1.layer_norm").Should().BeOfType<LayerNorm>();
    }

    [Fact]
    public void ParameterCounting()
    {
        using var m = new TinyEncoder();
        // conv 3->4 k3: 108+4, ln 4: 8, conv 4->8 k3: 288+8, ln 8: 16, linear 8x8+8, linear 8x2, bn 3+3
        m.parameter_count().Should().Be(112 + 8 + 296 + 16 + 72 + 16 + 6);
        m.patch_embeddings.requires_grad_(false);
        m.parameter_count(trainableOnly: true).Should().Be(72 + 16 + 6);
    }

    [Fact]
    public void LoadStateDictRoundTripsValues()
    {
        using var a = new TinyEncoder();
        using var b = new TinyEncoder();
        var r = b.load_state_dict(a.state_dict());
        r.missing_keys.Should().BeEmpty();
        r.unexpected_keys.Should().BeEmpty();
        foreach (var (k, v) in a.state_dict()) b.state_dict()[k].equal(v).Should().BeTrue(k);
    }

    [Fact]
    public void LoadStateDictStrictNamesMissingAndUnexpectedKeys()
    {
        using var m = new TinyEncoder();
        var sd = new Dictionary<string, Tensor>(m.state_dict());
        sd.Remove("patch_embeddings.1.proj.bias");
        sd.Remove("bn.num_batches_tracked");
        using var extra = zeros(2);
        sd["decode_head.classifier.weight"] = extra;
        var act = () => m.load_state_dict(sd);
        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("Missing key(s) in state_dict: \"patch_embeddings.1.proj.bias\", \"bn.num_batches_tracked\"")
            .And.Contain("Unexpected key(s) in state_dict: \"decode_head.classifier.weight\"");
        var lenient = m.load_state_dict(sd, strict: false);
        lenient.missing_keys.Should().Equal("patch_embeddings.1.proj.bias", "bn.num_batches_tracked");
        lenient.unexpected_keys.Should().Equal("decode_head.classifier.weight");
    }

    [Fact]
    public void LoadStateDictShapeMismatchAlwaysThrowsNamingKeyAndShapes()
    {
        using var m = new TinyEncoder();
        var sd = new Dictionary<string, Tensor>(m.state_dict());
        using var wrong = zeros(2, 9);
        sd["head.3.weight"] = wrong;
        foreach (var strict in new[] { true, false })
        {
            var act = () => m.load_state_dict(sd, strict);
            act.Should().Throw<ArgumentException>().Which.Message.Should()
                .Contain("size mismatch for head.3.weight: copying a param with shape [2, 9] from checkpoint, the shape in current model is [2, 8]");
        }
    }

    [Fact]
    public void BatchNorm2dTracksBatchesAndUsesRunningStatsInEval()
    {
        using var bn = new BatchNorm2d(3, momentum: 0.1);
        var f = Fixtures.Get("batch_norm_train");
        using var x = f.In("x");
        using (no_grad()) { bn.weight!.copy_(f.In("w")); bn.bias!.copy_(f.In("b")); }
        using (var y = bn.call(x)) using (var e = f.Out("y")) Check.Close(y, e);
        bn.num_batches_tracked!.item<long>().Should().Be(1);
        using (var e = f.Out("running_mean")) Check.Close(bn.running_mean!, e);
        using (var e = f.Out("running_var")) Check.Close(bn.running_var!, e);
        using (var y = bn.call(x)) { }
        bn.num_batches_tracked!.item<long>().Should().Be(2);

        bn.eval();
        using var rmBefore = bn.running_mean!.clone();
        using (var y = bn.call(x))
        {
            // eval: (x - running_mean) / sqrt(running_var + eps) * w + b
            using var rm = bn.running_mean!.view(1, 3, 1, 1);
            using var rv = bn.running_var!.view(1, 3, 1, 1);
            using var w = bn.weight!.view(1, 3, 1, 1);
            using var b = bn.bias!.view(1, 3, 1, 1);
            using var expected = (x - rm) / (rv + 1e-5).sqrt() * w + b;
            Check.Close(y, expected);
        }
        bn.num_batches_tracked!.item<long>().Should().Be(2);
        bn.running_mean!.equal(rmBefore).Should().BeTrue();
    }

    [Fact]
    public void BatchNorm2dCumulativeAverageWhenMomentumIsNull()
    {
        using var bn = new BatchNorm2d(2, momentum: null);
        using var x1 = full(new long[] { 2, 2, 2, 2 }, 1.0);
        using var x2 = full(new long[] { 2, 2, 2, 2 }, 3.0);
        using (bn.call(x1)) { }
        using (bn.call(x2)) { }
        Check.Values(bn.running_mean!, 2, 2); // (1 + 3) / 2
        using var noTrack = new BatchNorm2d(2, track_running_stats: false);
        noTrack.state_dict().Keys.Should().Equal("weight", "bias");
        noTrack.eval();
        using var y = noTrack.call(x2);
        using (var z = zeros(2, 2, 2, 2)) Check.Close(y, z, 1e-3, 0); // eval still uses batch stats (constant input -> 0)
        var bad = () => bn.call(ones(1, 3, 2, 2));
        bad.Should().Throw<ArgumentException>().WithMessage("*3 channels*");
    }

    [Fact]
    public void DropoutReluIdentityReturnNewHandlesTheCallerOwns()
    {
        using var x = tensor(new float[] { -1, 2 });
        using var drop = new Dropout(0.5);
        drop.eval();
        using (var y = drop.call(x)) { y.Should().NotBeSameAs(x); Check.Values(y, -1, 2); }
        x.IsInvalid.Should().BeFalse("disposing the result must not dispose the input");
        drop.train();
        drop.training.Should().BeTrue();
        using var id = new Identity();
        using (var y = id.call(x)) y.Should().NotBeSameAs(x);
        x.IsInvalid.Should().BeFalse();
        using var relu = new ReLU();
        using (var y = relu.call(x)) Check.Values(y, 0, 2);
        Check.Values(x, -1, 2);
        using var relu2 = new ReLU(inplace: true);
        using (var y = relu2.call(x)) { y.Should().NotBeSameAs(x); Check.Values(y, 0, 2); }
        Check.Values(x, 0, 2); // in place
        var bad = () => new Dropout(1.5);
        bad.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void TrainEvalPropagatesAndZeroGradClears()
    {
        using var m = new TinyEncoder();
        m.eval();
        m.modules().Should().OnlyContain(x => !x.training);
        m.train();
        m.modules().Should().OnlyContain(x => x.training);
        using var x = randn(2, 8);
        using (var y = m.head.call(x)) using (var l = y.sum()) l.backward();
        m.head.parameters().Should().OnlyContain(p => p.grad != null);
        m.zero_grad();
        m.parameters().Should().OnlyContain(p => p.grad == null);
    }

    [Fact]
    public void ModulesComputeWhatTheirFunctionalFormsDo()
    {
        using var lin = nn.Linear(3, 2);
        lin.weight.shape.Should().Equal(2, 3);
        using var x = randn(4, 3);
        using (var y = lin.call(x)) using (var e = nn.functional.linear(x, lin.weight, lin.bias)) y.equal(e).Should().BeTrue();
        using var conv = nn.Conv2d(4, 6, 3, padding: 1, groups: 2);
        conv.weight.shape.Should().Equal(6, 2, 3, 3);
        using var xi = randn(1, 4, 5, 5);
        using (var y = conv.call(xi)) y.shape.Should().Equal(1, 6, 5, 5);
        using var ln = nn.LayerNorm(3);
        using (var y = ln.call(x)) using (var m = y.mean(1)) Check.Close(m, zeros(4), 1e-6, 0);
        using var pe = new PatchEmbed(4, 8);
        using (var y = pe.call(xi)) y.shape.Should().Equal(1, 9, 8);
        using var seq = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Identity(), nn.Linear(5, 1));
        using (var y = seq.call(x)) y.shape.Should().Equal(4, 1);
        // PyTorch's default init bounds: U(±1/sqrt(fan_in)) for weight (kaiming a=√5) and bias
        using var big = nn.Linear(100, 50);
        big.weight.abs().max().item<float>().Should().BeLessThanOrEqualTo(0.1f);
        big.bias!.abs().max().item<float>().Should().BeLessThanOrEqualTo(0.1f);
    }

    [Fact]
    public void ForwardHooksSeeEveryCall()
    {
        using var seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU());
        var seen = new List<string>();
        var mine = new HashSet<nn.Module>(seq.modules());
        // Global hooks see every module in the process (tests run in parallel): keep only this test's modules.
        using (nn.Module.register_module_forward_hooks(m => { if (mine.Contains(m)) lock (seen) seen.Add("pre " + m.GetName); },
                                                       m => { if (mine.Contains(m)) lock (seen) seen.Add("post " + m.GetName); }))
        using (seq[1].register_forward_hook((m, i, o) => o.mul_(2)))
        using (var x = ones(1, 3))
        using (var y = seq.call(x)) { }
        seen.Should().Equal("pre Sequential", "pre Linear", "post Linear", "pre ReLU", "post ReLU", "post Sequential");
        seen.Clear();
        using (var x = ones(1, 3)) using (var y = seq.call(x)) { }
        seen.Should().BeEmpty("hooks were removed");
    }
}
