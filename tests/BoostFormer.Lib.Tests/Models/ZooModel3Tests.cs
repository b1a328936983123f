using System.Text.Json;
using BoostFormer.IO;
using BoostFormer.Models;
using BoostFormer.Profiling;
using TorchSharp;
using Xunit.Abstractions;
using static BoostFormer.Lib.Tests.Models.ZooModelTests;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// The third batch of zoo modules — the Lawin ASPP decoder and the NOTA team's Next-ViT-style hybrid encoder —: outputs
/// against the reference code itself (the reference <c>LawinHead</c>; the team's <c>SegformerEncoder</c> of branch
/// Next-Vit), run by Fixtures/generate_zoo3_fixtures.py under python3-torch 1.13 with closed-form weights and inputs;
/// parameter counts and MACs against hand derivations; training steps; invalid configurations.
/// </summary>
public class ZooModel3Tests
{
    private readonly ITestOutputHelper _out;
    public ZooModel3Tests(ITestOutputHelper output) { _out = output; }

    /// <summary>The generator's closed-form value of element i of the j-th key (sorted) — see generate_zoo3_fixtures.py.</summary>
    /// <paramref name="refName"/> maps our key to the reference's where they differ.
    internal static void FillClosedForm(nn.Module module, Func<string, string>? refName = null)
    {
        var sd = module.state_dict();
        refName ??= k => k;
        var keys = sd.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).OrderBy(k => refName(k), StringComparer.Ordinal).ToList();
        using var _ = no_grad();
        for (int j = 0; j < keys.Count; j++)
        {
            var t = sd[keys[j]];
            var k = refName(keys[j]);
            var n = t.numel();
            var v = new float[n];
            for (long i = 0; i < n; i++)
            {
                var b = Math.Sin(i * 0.7 + (1.3 * j + 0.5));
                v[i] = (float)(k.EndsWith("running_var", StringComparison.Ordinal) ? 0.75 + 0.5 * b
                    : k.EndsWith("running_mean", StringComparison.Ordinal) ? 0.1 * b
                    : t.dim() == 1 && (k.EndsWith("bn.weight", StringComparison.Ordinal) || k.EndsWith("norm.weight", StringComparison.Ordinal)) ? 1.0 + 0.2 * b
                    : t.dim() == 1 ? 0.1 * b
                    : b * (0.8 / Math.Sqrt(n / t.shape[0])));
            }
            using var src = tensor(v).reshape(t.shape);
            t.copy_(src);
        }
    }

    /// <summary>The generator's closed-form input k: sin(0.37 i + 0.9 k + 0.2) + 0.5 cos(0.053 i + k).</summary>
    internal static Tensor ClosedFormInput(int k, params long[] shape)
    {
        var n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new float[n];
        for (long i = 0; i < n; i++) v[i] = (float)(Math.Sin(i * 0.37 + (0.9 * k + 0.2)) + 0.5 * Math.Cos(i * 0.053 + k));
        return tensor(v).reshape(shape);
    }

    // The fixture's head: stages [16, 24, 40, 64], E 32, width 128, 5 classes.
    private static SegformerConfig FixtureConfig() => new SegformerConfig
    {
        hidden_sizes = new[] { 16, 24, 40, 64 },
        num_attention_heads = new[] { 1, 2, 5, 8 },
        decoder_type = ZooModule.DecoderLawin,
        decoder_hidden_size = 128,
        lawin_embed_dim = 32,
        num_labels = 5,
    }.Validate();

    /// <summary>
    /// Hand derivation of the Lawin head's parameters for stage widths hs, embedding E, width C, K classes (P = 8, heads 64/16/4):
    /// linear_c2..4: Σ (hs_i·E + E); linear_c1: hs_1·48 + 48; linear_fuse: 3E·C + 2C (BN); short_path, image_pool: C² + 2C each;
    /// each lawin_r: g, θ, φ 3(C·C/2 + C/2), conv_out C/2·C + 2C, position mixing heads·(P²·P² + P²); ds_r LayerNorm 2C each;
    /// cat: 5C·C + 2C; low_level_fuse: (C + 48)·C + 2C; conv_seg: C·K + K.
    /// </summary>
    private static long LawinParams(int[] hs, long e, long c, long k)
    {
        long i = c / 2, p2 = 64;
        long lawin(long heads) => 3 * (c * i + i) + (i * c + 2 * c) + heads * (p2 * p2 + p2);
        return (hs[1] * e + e) + (hs[2] * e + e) + (hs[3] * e + e) + (hs[0] * 48 + 48)
             + (3 * e * c + 2 * c) + 2 * (c * c + 2 * c)
             + lawin(64) + lawin(16) + lawin(4) + 3 * 2 * c
             + (5 * c * c + 2 * c) + ((c + 48) * c + 2 * c) + (c * k + k);
    }

    [Fact]
    public void Lawin_head_matches_the_reference_on_window_multiples_and_on_a_padded_grid()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(FixtureDir(), "lawin.safetensors");
        var fx = Safetensors.Load(path);
        var meta = Safetensors.ReadMetadata(path);
        using var head = new LawinHead(FixtureConfig());
        // mmseg's key names; the parameters in the reference's registration order (the optimizer's order)
        var refKeys = JsonSerializer.Deserialize<string[]>(meta["state_keys"])!;
        head.state_dict().Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Should().BeEquivalentTo(refKeys);
        var paramNames = head.named_parameters().Select(p => p.name).ToList();
        paramNames.Should().Equal(refKeys.Where(paramNames.Contains));
        head.parameter_count().Should().Be(long.Parse(meta["parameters"], System.Globalization.CultureInfo.InvariantCulture));
        head.parameter_count().Should().Be(LawinParams(new[] { 16, 24, 40, 64 }, 32, 128, 5));
        FillClosedForm(head);
        head.eval();
        using var _ = no_grad();
        var x = new[] { (32L, 32L), (16L, 16L), (8L, 8L), (4L, 4L) }.Select((s, i) => ClosedFormInput(i + 1, 2, new[] { 16L, 24, 40, 64 }[i], s.Item1, s.Item2)).ToList();
        var p = new[] { (24L, 40L), (12L, 20L), (6L, 10L), (3L, 5L) }.Select((s, i) => ClosedFormInput(i + 5, 2, new[] { 16L, 24, 40, 64 }[i], s.Item1, s.Item2)).ToList();
        foreach (var (inputs, key) in new[] { (x, "out"), (p, "out_pad") })
        {
            var ours = head.call(inputs);
            ours.shape.Should().Equal(fx[key].shape, key);
            var e = MaxAbs(ours, fx[key]);
            var scale = fx[key].abs().max().item<float>();
            _out.WriteLine($"{key}: max |ours − reference| = {e:E2} (max |logit| {scale:F2})");
            e.Should().BeLessThan(1e-5, key);
        }
    }

    [Fact]
    public void Lawin_in_segformer_b0_has_the_hand_derived_parameters_and_macs()
    {
        var config = ZooModule.LawinDecoder.Apply(SegformerConfig.FromName("segformer-b0", 4));
        config.decoder_hidden_size.Should().Be(512, "the reference's width");
        config.lawin_embed_dim.Should().Be(512, "the team's intended E");
        ZooModule.LawinDecoder.IsOn(config).Should().BeTrue();
        config.SwitchSummary().Should().Contain("lawin");
        using (var m = new SegformerForSemanticSegmentation(config))
            m.decode_head.parameter_count().Should().Be(LawinParams(new[] { 32, 64, 160, 256 }, 512, 512, 4));

        // 128×128: stage grids 32², 16², 8², 4²; the 1/8 grid 16×16 is 2×2 windows of 8×8. Batch 1.
        var report = SegformerProfiling.Profile(config, new InputSize(128, 128));
        var head = report.Modules.Single(r => r.Path == "decode_head");
        long c = 512, e = 512, k = 4, l1 = 32 * 32, l2 = 16 * 16, l3 = 8 * 8, l4 = 4 * 4, windows = 4, p2 = 64;
        long convLinear = l4 * 256 * e + l3 * 160 * e + l2 * 64 * e + l1 * 32 * 48   // linear_c4..c1
                        + l2 * 3 * e * c                                               // linear_fuse
                        + l2 * c * c + 1 * c * c                                       // short_path, image_pool (on 1×1)
                        + 3 * (4 * windows * p2 * c * c / 2)                           // g, θ, φ, conv_out per branch
                        + 3 * windows * c * p2 * p2                                    // position mixing: heads · (C/heads) · P² · P² (every branch has > 1 head)
                        + l2 * 5 * c * c + l1 * (c + 48) * c + l1 * c * k;             // cat, low_level_fuse, conv_seg
        // θᵀφ and A·g per branch: 2 · windows · heads · P² · P² · (C/2/heads) = windows · P⁴ · C
        long attention = 3 * windows * p2 * p2 * c;
        (head.Counts.Macs(MacKind.Conv) + head.Counts.Macs(MacKind.Linear)).Should().Be(convLinear);
        head.Counts.Macs(MacKind.Attention).Should().Be(attention);
        _out.WriteLine($"Lawin head at 128²: {convLinear / 1e6:F1} M conv+linear MACs, {attention / 1e6:F1} M attention MACs");
    }

    [Fact]
    public void Lawin_model_gives_full_logits_on_a_grid_that_is_not_a_window_multiple_and_trains_a_step()
    {
        var c = ZooModule.LawinDecoder.Apply(SegformerConfig.FromName("segformer-b0", 3)) with { depths = new[] { 1, 1, 1, 1 }, decoder_hidden_size = 128, lawin_embed_dim = 64, drop_path_rate = 0 };
        using var m = new SegformerForSemanticSegmentation(c);
        m.train();
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 88, 72);   // 1/8 grid 11×9: padded to 16×16 for the Lawin branches
        var labels = randint(0, 3, new long[] { 2, 88, 72 });
        var o = m.forward(x, labels);
        o.logits.shape.Should().Equal(2, 3, 22, 18);
        o.loss!.backward();
        var head = (LawinHead)m.decode_head;
        foreach (var (name, p) in head.named_parameters())
            p.grad.Should().NotBeNull(name);
        // conv_out's BN weight starts at zero (mmcv's NonLocal init), so the branch's gradient reaches that weight first
        head.lawin_8.conv_out.bn!.weight!.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        head.linear_fuse.conv.weight!.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        _out.WriteLine($"loss {o.loss.item<float>():F4}, {m.parameter_count():N0} parameters");
    }

    [Fact]
    public void Invalid_lawin_configurations_name_the_field()
    {
        var b0 = ZooModule.LawinDecoder.Apply(SegformerConfig.FromName("segformer-b0", 4));
        var bad = () => (b0 with { decoder_hidden_size = 192 }).Validate();
        bad.Should().Throw<ArgumentException>().WithMessage("*decoder_hidden_size*192*");
        var badE = () => (b0 with { lawin_embed_dim = 0 }).Validate();
        badE.Should().Throw<ArgumentException>().WithMessage("*lawin_embed_dim*");
        var direct = () => new LawinHead(b0 with { decoder_hidden_size = 64 });
        direct.Should().Throw<ArgumentException>().WithMessage("*decoder_hidden_size*");
    }

    [Fact]
    public void A_checkpoint_in_the_reference_layout_loads_strictly()
    {
        // The Lawin repository's checkpoints: MiT backbone in NVlabs names under backbone., the head in mmseg's LawinHead names.
        var c = ZooModule.LawinDecoder.Apply(SegformerConfig.FromName("segformer-b0", 4)) with { decoder_hidden_size = 128, lawin_embed_dim = 64 };
        using var source = new SegformerForSemanticSegmentation(c);
        using var target = new SegformerForSemanticSegmentation(c);
        using var scope = NewDisposeScope();
        var sd = source.state_dict();
        var reference = SegformerKeyMapping.ToNvlabs(sd.Where(kv => !kv.Key.StartsWith("decode_head.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value));
        foreach (var (k, v) in sd.Where(kv => kv.Key.StartsWith("decode_head.", StringComparison.Ordinal))) reference[k] = v;
        reference.Keys.Should().Contain(new[] { "backbone.patch_embed1.proj.weight", "backbone.block1.0.attn.q.weight", "decode_head.linear_c4.proj.weight",
            "decode_head.linear_fuse.conv.weight", "decode_head.linear_fuse.bn.running_var", "decode_head.lawin_8.position_mixing.63.weight", "decode_head.conv_seg.weight" });
        var report = CheckpointImport.LoadStateDictInto(target, reference, strict: true);
        report.naming.Should().Be("nvlabs");
        report.missing.Should().BeEmpty();
        report.ignored.Should().BeEmpty();
        var own = target.state_dict();
        foreach (var k in new[] { "decode_head.linear_c4.proj.weight", "decode_head.linear_fuse.conv.weight", "decode_head.lawin_2.theta.conv.bias", "segformer.encoder.block.1.0.attention.self.key.weight" })
            MaxAbs(own[k], sd[k]).Should().Be(0, k);
    }

    // ------------------------------------------------------------------------------------------------ Next-ViT hybrid

    // The fixture's encoder: the team's depths [1, 2, 6, 2], widths [32, 64, 96, 128], its transformer layer with ESA
    // for the attention (see the generator), which our config writes as attention_output false + DEST Mix-FFN.
    private static SegformerConfig HybridFixtureConfig() => new SegformerConfig
    {
        encoder_type = ZooModule.EncoderNextvitHybrid,
        depths = new[] { 1, 2, 6, 2 },
        hidden_sizes = new[] { 32, 64, 96, 128 },
        num_attention_heads = new[] { 1, 2, 2, 4 },
        attention_output = false,
        mlp_type = ZooModule.MlpDestMixFfn,
        drop_path_rate = 0,
        num_labels = 4,
    }.Validate();

    /// <summary>Our key → the team's: its layers hold the attention directly (attention.query), ours as attention.self.query.</summary>
    private static string TeamKey(string k) => k.Replace(".attention.self.", ".attention.", StringComparison.Ordinal);

    /// <summary>NCB(C): MHCA group conv C·32·9 + BN 2C + projection C²; BN 2C; Mlp C·h + h + h·C + C, h = make_divisible(3C, 32).</summary>
    private static long NcbParams(long c)
    {
        long h = NextvitHybrid.MakeDivisible(3.0 * c, 32);
        return c * 32 * 9 + 2 * c + c * c + 2 * c + (c * h + h) + (h * c + c);
    }

    [Fact]
    public void Nextvit_hybrid_encoder_matches_the_team_code()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(FixtureDir(), "nextvit_hybrid.safetensors");
        var fx = Safetensors.Load(path);
        var meta = Safetensors.ReadMetadata(path);
        var config = HybridFixtureConfig();
        using var enc = new SegformerEncoder(config);
        // the team's layer placement: stage 1 NCB; stage 2 NCB, T; stage 3 NCB NCB T NCB NCB T; stage 4 NCB, T
        enc.block.Select(st => string.Join(" ", st.Select(l => l is NextvitConvBlock ? "conv" : "trans")))
           .Should().Equal("conv", "conv trans", "conv conv trans conv conv trans", "conv trans");
        var refKeys = JsonSerializer.Deserialize<string[]>(meta["state_keys"])!;
        var ours = enc.state_dict().Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Select(TeamKey).ToList();
        ours.Except(refKeys).Should().BeEmpty("no key of ours is missing from the team's");
        refKeys.Except(ours).Should().BeEmpty("no key of the team's is missing from ours");
        enc.parameter_count().Should().Be(long.Parse(meta["parameters"], System.Globalization.CultureInfo.InvariantCulture));
        FillClosedForm(enc, TeamKey);
        enc.eval();
        using var _ = no_grad();
        using var output = enc.forward(ClosedFormInput(9, 2, 3, 64, 64));
        for (int i = 0; i < 4; i++)
        {
            var reference = fx[$"h{i}"];
            output.hidden_states[i].shape.Should().Equal(reference.shape);
            var e = MaxAbs(output.hidden_states[i], reference);
            _out.WriteLine($"stage {i + 1} {string.Join("x", reference.shape)}: max |ours − team| = {e:E2} (max |h| {reference.abs().max().item<float>():F2})");
            e.Should().BeLessThan(1e-5, $"stage {i + 1}");
        }
    }

    [Fact]
    public void Nextvit_hybrid_in_segformer_b0_has_the_hand_derived_parameters_and_macs()
    {
        var b0 = SegformerConfig.FromName("segformer-b0", 4);
        var config = ZooModule.NextvitHybridEncoder.Apply(b0);
        ZooModule.NextvitHybridEncoder.IsOn(config).Should().BeTrue();
        config.SwitchSummary().Should().Contain("nextvit-hybrid");
        NextvitHybrid.MakeDivisible(3 * 32, 32).Should().Be(96);
        NextvitHybrid.MakeDivisible(3 * 160, 32).Should().Be(480);
        NextvitHybrid.MakeDivisible(0.75 * 40, 32).Should().Be(32);
        // B0 depths [2,2,2,2], widths [32,64,160,256]: stage 1 two NCBs; stages 2–4 one NCB then SegFormer's layer;
        // patch embeddings in·out + 2·out (1x1 conv, BN); four stage LayerNorms 2C (stage 1's is held but unused, as the team's)
        using var m = new SegformerForSemanticSegmentation(config);
        var hs = new long[] { 32, 64, 160, 256 };
        long expected = 0, prev = 3;
        for (int i = 0; i < 4; i++)
        {
            expected += prev * hs[i] + 2 * hs[i];
            if (i == 0) expected += 2 * NcbParams(hs[0]);
            else
            {
                expected += NcbParams(hs[i]);
                using var layer = new SegformerLayer(b0, i, 0);
                expected += layer.parameter_count();
            }
            expected += 2 * hs[i];
            prev = hs[i];
        }
        m.segformer.parameter_count().Should().Be(expected);

        // MACs of stage 1 at 64×64 (its grid 16×16 after the stride-4 embedding): embedding L·3·32; each NCB:
        // group conv L·C·32·9, projection L·C², Mlp 2·L·C·96
        var report = SegformerProfiling.Profile(config, new InputSize(64, 64));
        long l = 16 * 16, c = 32;
        report.Modules.Single(r => r.Path == "segformer.encoder.patch_embeddings.0").Counts.Macs(MacConvention.All).Should().Be(l * 3 * c);
        foreach (var j in new[] { 0, 1 })
        {
            var ncb = report.Modules.Single(r => r.Path == $"segformer.encoder.block.0.{j}");
            ncb.Type.Should().Be(nameof(NextvitConvBlock));
            ncb.Counts.Macs(MacConvention.All).Should().Be(l * c * 32 * 9 + l * c * c + 2 * l * c * 96);
        }
    }

    [Fact]
    public void Nextvit_hybrid_model_gives_full_logits_on_odd_grids_and_trains_a_step()
    {
        var c = ZooModule.NextvitHybridEncoder.Apply(SegformerConfig.FromName("segformer-b0", 3)) with { drop_path_rate = 0 };
        using var m = new SegformerForSemanticSegmentation(c);
        m.train();
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 88, 72);   // stage grids 22×18, 11×9, 6×5, 3×3 (ceil-mode pooling)
        var labels = randint(0, 3, new long[] { 2, 88, 72 });
        using (var enc = m.segformer.forward(x))
            enc.hidden_states.Select(h => (h.size(2), h.size(3))).Should().Equal((22L, 18L), (11L, 9L), (6L, 5L), (3L, 3L));
        var o = m.forward(x, labels);
        o.logits.shape.Should().Equal(2, 3, 22, 18);
        o.loss!.backward();
        var unused = m.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToList();
        unused.Should().BeEquivalentTo(new[] { "segformer.encoder.layer_norm.0.weight", "segformer.encoder.layer_norm.0.bias" },
            "only stage 1's LayerNorm is unused (stage 1 has no transformer layer, as in the team code)");
        var ncb = (NextvitConvBlock)m.segformer.encoder.block[1][0];
        ncb.mhca.group_conv3x3.weight!.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        _out.WriteLine($"loss {o.loss.item<float>():F4}, {m.parameter_count():N0} parameters");
    }

    [Fact]
    public void Invalid_nextvit_hybrid_configurations_name_the_field()
    {
        var b0 = ZooModule.NextvitHybridEncoder.Apply(SegformerConfig.FromName("segformer-b0", 4));
        var widths = () => (b0 with { hidden_sizes = new[] { 32, 64, 160, 250 }, num_attention_heads = new[] { 1, 2, 5, 5 } }).Validate();
        widths.Should().Throw<ArgumentException>().WithMessage("*hidden_sizes*250*");
        var depths = () => (b0 with { depths = new[] { 2, 1, 2, 2 } }).Validate();
        depths.Should().Throw<ArgumentException>().WithMessage("*depths*stage 1*");
        var strides = () => (b0 with { strides = new[] { 4, 2, 3, 2 } }).Validate();
        strides.Should().Throw<ArgumentException>().WithMessage("*strides*");
        var pooling = () => (b0 with { pooling_patch_embedding = true }).Validate();
        pooling.Should().Throw<ArgumentException>().WithMessage("*pooling_patch_embedding*");
    }

    [Fact]
    public void Both_modules_are_drawn_at_their_place_as_notebook_10_draws_every_zoo_module()
    {
        using var b0 = SegformerForSemanticSegmentation.FromName("segformer-b0", 150);
        foreach (var (m, expect) in new[] { (ZooModule.LawinDecoder, "lawin_8.position_mixing"), (ZooModule.NextvitHybridEncoder, "patch_embeddings") })
        {
            using var zoo = new SegformerForSemanticSegmentation(m.Apply(b0.config));
            var d = BoostFormer.Visualization.ModuleDiagram.SideBySide(ZooModuleCosts.At(b0, m, drawn: true), $"SegFormer-B0 {m.Point}",
                ZooModuleCosts.At(zoo, m, drawn: true), m.Label, depth: m.Point == "encoder" ? 1 : 2);
            d.ToSvg().Should().StartWith("<svg").And.Contain(expect).And.Contain(m.Label);
        }
    }
}
