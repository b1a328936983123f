using System.Runtime.CompilerServices;
using BoostFormer.IO;
using BoostFormer.Models;
using BoostFormer.Profiling;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// The model zoo's modules and named models: parameter counts against hand derivations and the spec's reference counts
/// (shared/specs/seed001-variants.md §13–14), state-dict key names of the reference code, and module outputs against
/// PyTorch / NumPy values written by Fixtures/generate_zoo_fixtures.py.
/// </summary>
public class ZooModelTests
{
    private readonly ITestOutputHelper _out;
    public ZooModelTests(ITestOutputHelper output) { _out = output; }

    internal static string FixtureDir([CallerFilePath] string self = "") => Path.Combine(Path.GetDirectoryName(self)!, "Fixtures");
    internal static Dictionary<string, Tensor> Fixture(string name) => Safetensors.Load(Path.Combine(FixtureDir(), name));

    /// <summary>The fixture's <c>state.*</c> tensors loaded strictly into <paramref name="module"/>.</summary>
    internal static void LoadState(nn.Module module, Dictionary<string, Tensor> fx)
    {
        var sd = fx.Where(kv => kv.Key.StartsWith("state.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["state.".Length..], kv => kv.Value);
        var own = module.state_dict();
        own.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Should().BeEquivalentTo(sd.Keys);
        using var _ = no_grad();
        foreach (var (k, v) in sd) own[k].copy_(v);
    }

    internal static double MaxAbs(Tensor a, Tensor b)
    {
        using var d = (a.detach().to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }

    [Fact]
    public void Nota_final_has_the_reference_parameter_counts_for_150_and_11_classes()
    {
        using var m150 = SegformerForSemanticSegmentation.FromName("nota-final", 150);
        m150.parameter_count().Should().Be(7_354_582);
        m150.segformer.parameter_count().Should().Be(6_818_880);
        m150.decode_head.parameter_count().Should().Be(535_702);
        using var m11 = SegformerForSemanticSegmentation.FromName("nota-final", 11);
        m11.parameter_count().Should().Be(7_283_275);
        m11.decode_head.parameter_count().Should().Be(464_395);   // 896·512 (squeeze, no bias) + 512·11 + 11
    }

    [Fact]
    public void Nota_final_layer_costs_match_the_hand_derivation()
    {
        using var m = SegformerForSemanticSegmentation.FromName("nota-final", 150);
        for (int stage = 0; stage < 4; stage++)
        {
            long c = m.config.hidden_sizes[stage];
            var layer = (SegformerLayer)m.segformer.encoder.block[stage][0];
            layer.attention.parameter_count().Should().Be(4 * c * c + 6 * c, "LSRA without output projection: query C²+C, kv 2C²+2C, sr C²+C, LN 2C");
            layer.parameter_count().Should().Be(12 * c * c + 71 * c, "plus DEST Mix-FFN 8C²+61C and two LayerNorms 4C");
            layer.attention.Should().BeOfType<BoostformerAttention>();
            layer.SelfAttention!.key_value_reducer.Should().BeOfType<PvtLinearSpatialReduction>();
            layer.SelfAttention.KeyValueGrid(128, 96).Should().Be((7L, 7L));
            layer.mlp.Should().BeOfType<DestMixFFN>();
        }
        m.decode_head.Should().BeOfType<NotaHamDecodeHead>();
        ((NotaHamDecodeHead)m.decode_head).ham_attn.parameter_count().Should().Be(0);
    }

    [Fact]
    public void Nota_final_conv_and_linear_macs_at_512_are_the_reference_count()
    {
        var r = SegformerProfiling.Profile(SegformerConfig.FromName("nota-final", 150), new InputSize(512, 512), MacConvention.ConvLinear);
        _out.WriteLine($"conv+linear {r.ConvLinearMacs:N0}, attention matmuls {r.Total.Macs(MacKind.Attention):N0}");
        r.ConvLinearMacs.Should().Be(7_039_922_176);
        // attention QKᵀ+AV 0.2697 G and the NMF's 2.2586 G (6 steps, R = 64, D = 512, N = 64²), both as matrix products
        r.Total.Macs(MacKind.Attention).Should().Be(269_746_176 + 2_258_632_704);
        var r11 = SegformerProfiling.Profile(SegformerConfig.FromName("nota-final", 11), new InputSize(512, 512), MacConvention.ConvLinear);
        r11.ConvLinearMacs.Should().Be(6_748_418_048);
    }

    [Fact]
    public void Nota_final_keeps_the_team_codes_state_dict_key_names()
    {
        using var m = SegformerForSemanticSegmentation.FromName("nota-final", 150);
        var keys = m.state_dict().Keys.ToList();
        keys.Should().Contain(new[]
        {
            "segformer.encoder.block.0.0.attention.self.query.weight", "segformer.encoder.block.0.0.attention.self.kv.weight",
            "segformer.encoder.block.0.0.attention.self.sr.weight", "segformer.encoder.block.0.0.attention.self.layer_norm.weight",
            "segformer.encoder.block.0.0.mlp.conv1.weight", "segformer.encoder.block.0.0.mlp.batch_norm1.running_var",
            "segformer.encoder.block.0.0.mlp.dwconv.dwconv.weight", "segformer.encoder.block.0.0.mlp.batch_norm2.weight",
            "segformer.encoder.block.0.0.mlp.conv2.weight", "segformer.encoder.layer_norm.3.weight",
            "decode_head.squeeze.conv.weight", "decode_head.classifier.1.weight", "decode_head.classifier.1.bias",
        });
        keys.Should().NotContain(k => k.Contains("attention.output") || k.Contains("attention.self.key.") || k.Contains("linear_c"));
        keys.Where(k => k.StartsWith("decode_head.", StringComparison.Ordinal)).Should().Equal(
            "decode_head.classifier.1.weight", "decode_head.classifier.1.bias", "decode_head.squeeze.conv.weight");
        m.segformer.encoder.block[0][0].SelfAttention!.named_children().Select(c => c.name)
            .Should().Equal("query", "kv", "dropout", "pool", "sr", "layer_norm", "act");
    }

    [Fact]
    public void Nota_final_gives_logits_at_one_eighth_and_a_decoder_that_differs_between_forwards()
    {
        using var m = SegformerForSemanticSegmentation.FromName("nota-final", 11);
        m.eval();
        m.decode_head.OutputStride.Should().Be(8);
        using var _ = no_grad();
        using var x = randn(1, 3, 64, 96);
        using var a = m.call(x);
        using var b = m.call(x);
        a.shape.Should().Equal(1, 11, 8, 12);
        MaxAbs(a, b).Should().BeGreaterThan(0, "the NMF bases are drawn at random in every forward");
        using var enc1 = m.segformer.forward(x);
        using var enc2 = m.segformer.forward(x);
        for (int i = 0; i < 4; i++) MaxAbs(enc1.hidden_states[i], enc2.hidden_states[i]).Should().Be(0);
    }

    [Fact]
    public void Nota_final_config_round_trips_through_json_and_trains_a_step()
    {
        var c = SegformerConfig.FromName("nota-final", 5);
        var path = Path.Combine(Path.GetTempPath(), $"bf-nota-{Environment.ProcessId}.json");
        try
        {
            c.Save(path);
            var back = SegformerConfig.FromJson(path);
            back.ToJson().Should().Be(c.ToJson());
            back.attention_type.Should().Be("lsra");
            back.decoder_type.Should().Be("ham");
        }
        finally { File.Delete(path); }
        using var m = new SegformerForSemanticSegmentation(c);
        m.train();
        using var x = randn(2, 3, 64, 64);
        using var labels = randint(0, 5, new long[] { 2, 64, 64 });
        using var o = m.forward(x, labels);
        o.loss!.backward();
        var kv = m.segformer.encoder.block[0][0].SelfAttention!.kv!;
        kv.weight!.grad.Should().NotBeNull();
        using var g = kv.weight.grad!.abs().sum();
        g.item<float>().Should().BeGreaterThan(0);
        using var sq = ((NotaHamDecodeHead)m.decode_head).squeeze.conv.weight!.grad!.abs().sum();
        sq.item<float>().Should().BeGreaterThan(0, "the one-step gradient reaches through the NMF to the squeeze conv");
    }

    [Fact]
    public void Lsra_matches_pytorch()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("lsra.safetensors");
        using var attn = new SegformerEfficientSelfAttention(32, 2, new PvtLinearSpatialReduction(32, 7), fused_kv: true);
        LoadState(attn, fx);
        attn.eval();
        using var _ = no_grad();
        var (ours, _) = attn.call(fx["x"], 10, 12, false);
        MaxAbs(ours, fx["out"]).Should().BeLessThan(1e-5);
        attn.use_sdpa = false;
        var (explicitPath, probs) = attn.call(fx["x"], 10, 12, true);
        MaxAbs(explicitPath, fx["out"]).Should().BeLessThan(1e-5);
        probs!.shape.Should().Equal(2, 2, 120, 49);
    }

    [Fact]
    public void Dest_mix_ffn_matches_pytorch_in_eval_and_train_mode()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("dest_mix_ffn.safetensors");
        using var ffn = new DestMixFFN(16, 64);
        LoadState(ffn, fx);
        using var _ = no_grad();
        ffn.eval();
        MaxAbs(ffn.call(fx["x"], 7, 9), fx["out_eval"]).Should().BeLessThan(1e-5);
        ffn.train();
        MaxAbs(ffn.call(fx["x"], 7, 9), fx["out_train"]).Should().BeLessThan(1e-4);
        ffn.parameter_count().Should().Be(8 * 16 * 16 + 61 * 16);
    }

    [Fact]
    public void Dest_simplified_attention_matches_pytorch()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("dest_attention.safetensors");
        using var attn = new DestSimplifiedAttention(24, 3, 2);
        LoadState(attn, fx);
        attn.eval();
        using var _ = no_grad();
        MaxAbs(attn.call(fx["x"], 8, 6), fx["out"]).Should().BeLessThan(1e-5);
        // q, k, proj: 3(C²+C); sr: 4C²+C; BN: 2C
        attn.parameter_count().Should().Be(3 * (24 * 24 + 24) + 4 * 24 * 24 + 24 + 2 * 24);
    }

    [Fact]
    public void Nmf_multiplicative_updates_match_numpy_and_the_one_step_gradient_matches_pytorch()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("nmf.safetensors");
        using var nmf = new HamNmf2D(rank: 4, train_steps: 3, eval_steps: 3, eps: 1e-6);
        nmf.eval();
        var x64 = fx["x"].to(ScalarType.Float64);
        var ours64 = nmf.Reconstruct(x64, fx["bases"].to(ScalarType.Float64));
        MaxAbs(ours64, fx["out_f64"]).Should().BeLessThan(1e-10);
        var x = fx["x"].detach().requires_grad_(true);
        var ours = nmf.Reconstruct(x, fx["bases"]);
        MaxAbs(ours, fx["out"]).Should().BeLessThan(1e-5);
        (ours * fx["grad_out"]).sum().backward();
        MaxAbs(x.grad!, fx["grad_x"]).Should().BeLessThan(1e-4);
        nmf.parameter_count().Should().Be(0);
        nmf.buffers().Should().BeEmpty();
    }

    [Fact]
    public void Check_parity_accepts_a_fixture_with_only_encoder_hidden_states()
    {
        var report = ParityCheck.Run(Path.Combine(FixtureDir(), "nota-mini"));
        _out.WriteLine(report.Format());
        report.Items.Select(i => i.Name).Should().Equal("hidden_states.0", "hidden_states.1", "hidden_states.2", "hidden_states.3");
        report.Passed.Should().BeTrue(report.Format());
        report.Config.decoder_type.Should().Be("ham");
        report.Load.missing.Should().BeEmpty();
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDir(), "nota-mini", "config.json")))!;
        report.ParameterCount.Should().Be(json["parameter_count"]!.GetValue<long>());
    }

    [Fact]
    public void Unknown_module_names_and_conflicting_choices_are_rejected_naming_the_field()
    {
        var c = new SegformerConfig();
        FluentActions.Invoking(() => (c with { attention_type = "linformer" }).Validate()).Should().Throw<ArgumentException>().WithMessage("*attention_type 'linformer'*");
        FluentActions.Invoking(() => (c with { decoder_type = "ham", weighted_sum_decoder = true }).Validate()).Should().Throw<ArgumentException>().WithMessage("*weighted_sum_decoder*");
        FluentActions.Invoking(() => (c with { mlp_type = "dest_mix_ffn", mix_cfn = true }).Validate()).Should().Throw<ArgumentException>().WithMessage("*channel mixer*");
        FluentActions.Invoking(() => SegformerConfig.FromName("nota-finale")).Should().Throw<ArgumentException>().WithMessage("*nota-final*");
    }

    [Fact]
    public void Every_zoo_module_substitutes_its_point_alone_and_runs()
    {
        foreach (var module in ZooModule.All)
        {
            var c = module.Apply(SegformerConfig.FromName("segformer-b0", 4));
            if (module == ZooModule.NoAttentionOutput) c.attention_output.Should().BeFalse();
            module.IsOn(c).Should().BeTrue(module.Label);
            ZooModule.All.Where(m => m != module && m.IsOn(c)).Should().BeEmpty(module.Label);
            c.SwitchSummary().Should().Contain(module.Tag);
            using var m = new SegformerForSemanticSegmentation(c);
            m.eval();
            using var _ = no_grad();
            using var x = randn(1, 3, 64, 64);
            using var y = m.call(x);
            y.shape.Should().Equal(1, 4, 64 / m.decode_head.OutputStride, 64 / m.decode_head.OutputStride);
            _out.WriteLine($"{module.Label}: {m.parameter_count():N0} parameters");
        }
    }
}
