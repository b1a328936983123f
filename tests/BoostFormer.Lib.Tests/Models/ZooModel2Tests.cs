using BoostFormer.Models;
using BoostFormer.Training.Optimization;
using TorchSharp;
using Xunit.Abstractions;
using static BoostFormer.Lib.Tests.Models.ZooModelTests;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// The second batch of zoo modules — Efficient Attention (Shen et al.), XCiT's XCA and LPI, EMO's iRMB, Swin's (shifted)
/// window attention —: outputs against the reference implementations themselves (their files run by
/// Fixtures/generate_zoo2_fixtures.py under python3-torch 1.13, absolute tolerance 1e-5), parameter counts against hand
/// derivations, shapes on grids that are not multiples of the windows, a training step, weight-decay grouping.
/// </summary>
public class ZooModel2Tests
{
    private const double Tolerance = 1e-5;
    private readonly ITestOutputHelper _out;
    public ZooModel2Tests(ITestOutputHelper output) { _out = output; }

    private static Tensor Tokens(Tensor nchw) => nchw.flatten(2).transpose(1, 2);

    private double Check(string what, Tensor ours, Tensor reference)
    {
        ours.shape.Should().Equal(reference.shape, what);
        var e = MaxAbs(ours, reference);
        _out.WriteLine($"{what}: max |ours − reference| = {e:E2}");
        e.Should().BeLessThan(Tolerance, what);
        return e;
    }

    [Fact]
    public void Efficient_attention_matches_the_reference()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("efficient_attention.safetensors");
        using var ea = new ShenEfficientAttention(24, 16, 4, 8);
        LoadState(ea, fx);
        using var _ = no_grad();
        Check("map", ea.ForwardMap(fx["x"]), fx["out"]);
        Check("tokens", ea.call(Tokens(fx["x"]), 7, 9), Tokens(fx["out"]));
        // keys, queries: 2(C·d_k + d_k); values: C·d_v + d_v; reprojection: d_v·C + C  (C 24, d_k 16, d_v 8)
        ea.parameter_count().Should().Be(2 * (24 * 16 + 16) + (24 * 8 + 8) + (8 * 24 + 24));
    }

    [Fact]
    public void Xca_matches_the_reference()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("xca.safetensors");
        using var xca = new XcitCrossCovarianceAttention(32, 4);
        LoadState(xca, fx);
        xca.eval();
        using var _ = no_grad();
        Check("xca", xca.call(fx["x"], 7, 9), fx["out"]);
        // qkv: C·3C + 3C; proj: C² + C; temperature: h  (C 32, h 4)
        xca.parameter_count().Should().Be(32 * 96 + 96 + 32 * 32 + 32 + 4);
    }

    [Fact]
    public void Lpi_matches_the_reference_in_eval_mode()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("lpi.safetensors");
        using var lpi = new XcitLocalPatchInteraction(32);
        LoadState(lpi, fx);
        lpi.eval();
        using var _ = no_grad();
        Check("lpi", lpi.call(fx["x"], 7, 9), fx["out"]);
        // two depthwise 3×3 with bias: 2(9C + C); BatchNorm: 2C  → 22C
        lpi.parameter_count().Should().Be(22 * 32);
    }

    [Fact]
    public void Irmb_with_window_attention_matches_the_reference_on_a_padded_grid()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("irmb_attn.safetensors");
        using var blk = new EmoInvertedResidualMobileBlock(32, 32, 2.0, "ln_2d", "gelu", 5, attn_s: true, dim_head: 16, window_size: 7);
        LoadState(blk, fx);
        blk.eval();
        using var _ = no_grad();
        Check("map 9x11", blk.ForwardMap(fx["x"]), fx["out"]);
        var (tokens, probs) = blk.call(Tokens(fx["x"]), 9, 11, true);
        probs.Should().BeNull();
        Check("tokens 9x11", tokens, Tokens(fx["out"]));
        // LN: 2C; qk: C·2C + 2C; v: C·eC + eC; conv_local: eC·5² + BN 2eC; proj: eC·C (no bias)  (C 32, eC 64)
        blk.parameter_count().Should().Be(2 * 32 + (32 * 64 + 64) + (32 * 64 + 64) + (64 * 25 + 2 * 64) + 64 * 32);
    }

    [Fact]
    public void Irmb_without_attention_matches_the_reference()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("irmb_conv.safetensors");
        using var blk = new EmoInvertedResidualMobileBlock(24, 24, 3.0, "bn_2d", "silu", 3, attn_s: false, dim_head: 24);
        LoadState(blk, fx);
        blk.eval();
        using var _ = no_grad();
        Check("irmb conv", blk.ForwardMap(fx["x"]), fx["out"]);
        blk.qk.Should().BeNull();
        // BN: 2C; v: C·eC + eC; conv_local: eC·3² + 2eC; proj: eC·C  (C 24, eC 72)
        blk.parameter_count().Should().Be(2 * 24 + (24 * 72 + 72) + (72 * 9 + 2 * 72) + 72 * 24);
    }

    [Fact]
    public void Swin_window_attention_matches_the_reference_with_and_without_shift_on_a_padded_grid()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("swin.safetensors");
        foreach (var (shift, key) in new[] { (2, "out_shift"), (0, "out_noshift") })
        {
            using var attn = new SwinShiftedWindowAttention(16, 4, 2, shift);
            // our relative position index (derived in the constructor) is the reference's buffer
            MaxAbs(attn.relative_position_index, fx["state.relative_position_index"]).Should().Be(0);
            LoadState(attn, fx);
            attn.eval();
            using var _ = no_grad();
            Check($"swin shift {shift}, 10x9 padded to 12x12", attn.call(fx["x"], 10, 9), fx[key]);
            // table: (2M−1)²·h; qkv: C·3C + 3C; proj: C² + C  (M 4, h 2, C 16)
            attn.parameter_count().Should().Be(7 * 7 * 2 + (16 * 48 + 48) + (16 * 16 + 16));
        }
        MaxAbs(fx["out_shift"], fx["out_noshift"]).Should().BeGreaterThan(1e-3, "the shift changes the windows");
    }

    [Fact]
    public void Each_module_in_a_b0_stage_has_the_hand_derived_parameter_count()
    {
        var b0 = SegformerConfig.FromName("segformer-b0", 4);
        // Efficient Attention in stage 3 (C 160, d_k 64, d_v 32; 5 heads do not divide 64, so the team's 4):
        // keys, queries 2(160·64 + 64) + values 160·32 + 32 + reprojection 32·160 + 160, then SegFormer's output dense 160² + 160
        var ea = ZooModule.ShenEfficientAttention.Apply(b0);
        ShenEfficientAttention.HeadsFor(ea, 2).Should().Be(4);
        ShenEfficientAttention.HeadsFor(ea, 3).Should().Be(8);
        using (var a = SegformerModules.Attention(ea, 2)) a.parameter_count().Should().Be(2 * (160 * 64 + 64) + (160 * 32 + 32) + (32 * 160 + 160) + (160 * 160 + 160));
        // XCiT layer in stage 1 (C 32, 1 head, Mix-FFN ratio 4 → 128): norms 3·2C; XCA 4C² + 4C + h; LPI 22C;
        // Mix-FFN dense1 C·128 + 128, dwconv 128·9 + 128, dense2 128·C + C; γ₁..₃ 3C
        using (var l = SegformerModules.EncoderLayer(ZooModule.Xca.Apply(b0), 0, 0))
            l.parameter_count().Should().Be(3 * 64 + (4 * 32 * 32 + 4 * 32 + 1) + 22 * 32 + (32 * 128 + 128) + (128 * 9 + 128) + (128 * 32 + 32) + 3 * 32);
        // without LPI: minus norm3 (2C), LPI (22C), γ₃ (C)
        using (var l = SegformerModules.EncoderLayer(ZooModule.XcaWithoutLpi.Apply(b0), 0, 0))
            l.parameter_count().Should().Be(2 * 64 + (4 * 32 * 32 + 4 * 32 + 1) + (32 * 128 + 128) + (128 * 9 + 128) + (128 * 32 + 32) + 2 * 32);
        // iRMB in stage 3 (C 160, dim_head 160/5 = 32, e 4 → 640, window attention, dw 5×5):
        // LN 2C; qk C·2C + 2C; v C·640 + 640; conv_local 640·25 + 2·640; proj 640·C
        using (var l = SegformerModules.EncoderLayer(ZooModule.Irmb.Apply(b0), 2, 0))
            l.parameter_count().Should().Be(2 * 160 + (160 * 320 + 320) + (160 * 640 + 640) + (640 * 25 + 2 * 640) + 640 * 160);
        // iRMB in stage 1 (C 32, no attention, BN, dw 3×3, e 4 → 128): BN 2C; v C·128 + 128; conv_local 128·9 + 256; proj 128·C
        using (var l = SegformerModules.EncoderLayer(ZooModule.Irmb.Apply(b0), 0, 0))
            l.parameter_count().Should().Be(2 * 32 + (32 * 128 + 128) + (128 * 9 + 256) + 128 * 32);
        // Swin in stage 1 (C 32, 1 head, M 7), no SelfOutput: table 13²·1; qkv C·3C + 3C; proj C² + C
        using (var a = SegformerModules.Attention(ZooModule.Swin.Apply(b0), 0, 1))
        {
            a.parameter_count().Should().Be(169 + (32 * 96 + 96) + (32 * 32 + 32));
            ((SwinShiftedWindowAttention)((SegformerMixerAttention)a).self).shift_size.Should().Be(3, "odd layers shift by M/2");
        }
        using (var a = SegformerModules.Attention(ZooModule.Swin.Apply(b0), 0, 0))
            ((SwinShiftedWindowAttention)((SegformerMixerAttention)a).self).shift_size.Should().Be(0);
    }

    [Fact]
    public void Models_with_each_module_give_full_logits_on_grids_that_are_not_window_multiples_and_train_a_step()
    {
        foreach (var module in new[] { ZooModule.ShenEfficientAttention, ZooModule.Xca, ZooModule.Irmb, ZooModule.Swin })
        {
            // No drop path: at batch 1 it drops a whole residual branch now and then, leaving that layer without gradients.
            var c = module.Apply(SegformerConfig.FromName("segformer-b0", 3)) with { depths = new[] { 2, 1, 2, 1 }, drop_path_rate = 0 };
            using var m = new SegformerForSemanticSegmentation(c);
            m.train();
            using var scope = NewDisposeScope();
            var x = randn(1, 3, 88, 72);   // stage grids 22x18, 11x9, 6x5, 3x3: none a multiple of 7
            var labels = randint(0, 3, new long[] { 1, 88, 72 });
            var o = m.forward(x, labels);
            o.logits.shape.Should().Equal(1, 3, 22, 18);
            o.loss!.backward();
            var stage3 = m.segformer.encoder.block[2][1];
            var grads = stage3.parameters().Where(p => p.requires_grad).Select(p => p.grad).ToList();
            grads.Should().NotContainNulls(module.Label);
            grads.Sum(g => g!.abs().sum().item<float>()).Should().BeGreaterThan(0, module.Label);
            _out.WriteLine($"{module.Label}: loss {o.loss.item<float>():F4}, {m.parameter_count():N0} parameters");
        }
    }

    [Fact]
    public void Xca_temperature_and_swin_bias_table_get_no_weight_decay()
    {
        foreach (var (module, name) in new[] { (ZooModule.Xca, "temperature"), (ZooModule.Swin, "relative_position_bias_table") })
        {
            using var m = new SegformerForSemanticSegmentation(module.Apply(SegformerConfig.FromName("segformer-b0", 3)));
            var named = m.named_parameters().ToList();
            var matching = named.Where(p => p.name.EndsWith(name, StringComparison.Ordinal)).ToList();
            matching.Should().HaveCount(8, "one per layer of B0");
            matching.Should().OnlyContain(p => p.parameter.dim() > 1, "the rule by dimension alone would decay them");
            var groups = ParameterGrouping.SegformerGroups(named, 1e-4, 0.01);
            var decayed = groups.Where(g => g.WeightDecay > 0).SelectMany(g => g.Parameters.Select(p => p.name)).ToHashSet();
            decayed.Should().NotContain(matching.Select(p => p.name));
            decayed.Should().Contain(named.Where(p => p.name.EndsWith("qkv.weight", StringComparison.Ordinal)).Select(p => p.name));
        }
    }

    [Fact]
    public void New_fields_round_trip_through_json_and_bad_choices_are_rejected_naming_the_field()
    {
        var c = SegformerConfig.FromName("segformer-b0", 5) with { attention_type = "xca", xca_lpi = false, xca_layer_scale_init = 1e-5, ea_key_channels = 32, irmb_window_size = 5, swin_window_size = 8 };
        var path = Path.Combine(Path.GetTempPath(), $"bf-zoo2-{Environment.ProcessId}.json");
        try
        {
            c.Save(path);
            SegformerConfig.FromJson(path).ToJson().Should().Be(c.ToJson());
        }
        finally { File.Delete(path); }
        var b0 = new SegformerConfig();
        FluentActions.Invoking(() => (b0 with { attention_type = "shen_efficient", ea_key_channels = 60 }).Validate()).Should().Throw<ArgumentException>().WithMessage("*ea_key_channels (60)*");
        FluentActions.Invoking(() => (b0 with { attention_type = "irmb", mlp_type = "dest_mix_ffn" }).Validate()).Should().Throw<ArgumentException>().WithMessage("*irmb*");
        FluentActions.Invoking(() => (b0 with { attention_type = "swin", swin_window_size = 1 }).Validate()).Should().Throw<ArgumentException>().WithMessage("*swin_window_size*");
    }
}
