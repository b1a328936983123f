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
/// The third batch of zoo modules — the Lawin ASPP decoder —: logits against the reference <c>LawinHead</c> itself (run
/// by Fixtures/generate_zoo3_fixtures.py under python3-torch 1.13 with closed-form weights and inputs), on a 1/8 grid
/// that is a multiple of the window and on one that is padded; parameter counts and MACs against hand derivations; a
/// training step; invalid configurations.
/// </summary>
public class ZooModel3Tests
{
    private readonly ITestOutputHelper _out;
    public ZooModel3Tests(ITestOutputHelper output) { _out = output; }

    /// <summary>The generator's closed-form value of element i of the j-th key (sorted) — see generate_zoo3_fixtures.py.</summary>
    internal static void FillClosedForm(nn.Module module)
    {
        var sd = module.state_dict();
        var keys = sd.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        using var _ = no_grad();
        for (int j = 0; j < keys.Count; j++)
        {
            var k = keys[j];
            var t = sd[k];
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
}
