using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>Each BoostFormer switch alone on SegFormer-B2 (and B0): the model builds, runs, keeps output shapes, and the parameter
/// count changes by exactly what the switch adds or removes.</summary>
public class BoostFormerSwitchTests
{
    private static readonly SegformerConfig B2 = SegformerConfig.FromName("segformer-b2");

    private static long Count(SegformerConfig c)
    {
        using var m = new SegformerForSemanticSegmentation(c);
        return m.parameter_count();
    }

    private static void RunsWithShapes(SegformerConfig c)
    {
        manual_seed(0);
        using var scope = NewDisposeScope();
        using var m = new SegformerForSemanticSegmentation(c with { num_labels = 11 });
        m.eval();
        using var _ = no_grad();
        using var o = m.forward(randn(1, 3, 64, 64), null, output_hidden_states: true, output_attentions: true);
        o.logits.shape.Should().Equal(1, 11, 16, 16);
        o.hidden_states!.Select(h => h.size(1)).Should().Equal(c.hidden_sizes.Select(h => (long)h));
        o.hidden_states!.Select(h => h.size(2)).Should().Equal(16, 8, 4, 2);
        o.attentions!.Count.Should().Be(c.depths.Sum());
        float.IsFinite(o.logits.abs().max().item<float>()).Should().BeTrue();
    }

    // Expected deltas are computed from the architecture by hand (per layer/stage), independently of the model code.
    [Fact]
    public void Pooling_patch_embedding_alone()
    {
        var c = B2 with { pooling_patch_embedding = true };
        RunsWithShapes(c);
        // K×K conv (in·out·K² + out) → 1x1 conv (in·out + out).
        long delta = 0;
        var ins = new[] { 3, 64, 128, 320 };
        for (int i = 0; i < 4; i++) delta += (long)ins[i] * B2.hidden_sizes[i] * (B2.patch_sizes[i] * B2.patch_sizes[i] - 1);
        (Count(B2) - Count(c)).Should().Be(delta);
        using var m = new SegformerForSemanticSegmentation(c);
        m.state_dict().Keys.Should().Contain("segformer.encoder.patch_embeddings.1.conv.weight").And.NotContain("segformer.encoder.patch_embeddings.1.proj.weight");
    }

    [Fact]
    public void Poolformer_blocks_alone()
    {
        var c = B2 with { poolformer_blocks = true };
        RunsWithShapes(c);
        // Stages 0,1: attention (q,k,v,out: 4(C²+C); sr: C²R²+C; sr LN 2C) and two LayerNorms (4C) are replaced by two layer
        // scales (2C) and two BatchNorms (4C). The conv Mix-FFN has the Mix-FFN's parameters.
        long delta = 0;
        for (int s = 0; s < 2; s++)
        {
            long C = B2.hidden_sizes[s], R = B2.sr_ratios[s];
            var attn = 4 * (C * C + C) + (C * C * R * R + C) + 2 * C + 4 * C;
            delta += B2.depths[s] * (attn - 6 * C);
        }
        (Count(B2) - Count(c)).Should().Be(delta);
        using var m = new SegformerForSemanticSegmentation(c);
        m.state_dict().Keys.Should().Contain("segformer.encoder.block.1.2.layer_scale_1").And.Contain("segformer.encoder.block.0.0.mlp.dwconv.weight");
        m.state_dict()["segformer.encoder.block.0.0.layer_scale_2"].max().item<float>().Should().Be(1e-5f);
    }

    [Fact]
    public void Pooled_kv_attention_alone()
    {
        var c = B2 with { pooled_kv_attention = true };
        RunsWithShapes(c);
        // Stage 2 loses its sr conv (C²R² + C) but keeps a LayerNorm (now "norm"); stage 3 (R = 1) gains a LayerNorm (2C).
        long C2 = 320, C3 = 512;
        var delta = B2.depths[2] * (C2 * C2 * 4 + C2) - B2.depths[3] * 2 * C3;
        (Count(B2) - Count(c)).Should().Be(delta);
        using var m = new SegformerForSemanticSegmentation(c);
        m.state_dict().Keys.Should().Contain("segformer.encoder.block.3.0.attention.self.norm.weight").And.NotContain("segformer.encoder.block.2.0.attention.self.sr.weight");
        using var scope = NewDisposeScope();
        m.eval();
        using var _ = no_grad();
        using var o = m.forward(randn(1, 3, 128, 128), null, output_attentions: true);
        o.attentions![B2.depths[0] + B2.depths[1]]!.shape.Should().Equal(1, 5, 64, 49); // 8x8 queries over 7x7 pooled keys
    }

    [Fact]
    public void Remove_self_output_alone()
    {
        var c = B2 with { remove_self_output = true };
        RunsWithShapes(c);
        long delta = 0;
        for (int s = 0; s < 4; s++) delta += B2.depths[s] * ((long)B2.hidden_sizes[s] * B2.hidden_sizes[s] + B2.hidden_sizes[s]);
        (Count(B2) - Count(c)).Should().Be(delta);
    }

    [Fact]
    public void Mix_cfn_alone()
    {
        var c = B2 with { mix_cfn = true };
        RunsWithShapes(c);
        // Per layer: the 3x3 depthwise conv (9H + H) becomes half 3x3 + half 5x5 ((9+25)H/2 + H) and two BatchNorms (4H) are added.
        long delta = 0;
        for (int s = 0; s < 4; s++)
        {
            long H = (long)B2.hidden_sizes[s] * B2.mlp_ratios[s];
            delta += B2.depths[s] * ((9 * H + H) - (34 * H / 2 + H + 4 * H));
        }
        (Count(B2) - Count(c)).Should().Be(delta);
        using var m = new SegformerForSemanticSegmentation(c);
        m.state_dict().Keys.Should().Contain("segformer.encoder.block.2.5.mlp.conv_1.weight").And.Contain("segformer.encoder.block.2.5.mlp.dwconv.mixconv.conv_5.weight");
    }

    [Fact]
    public void Weighted_sum_decoder_alone()
    {
        var c = B2 with { weighted_sum_decoder = true };
        RunsWithShapes(c);
        // The 1x1 fuse conv (768·4·768, no bias) is removed; 4 scalars are added.
        (Count(B2) - Count(c)).Should().Be(768L * 4 * 768 - 4);
        using var m = new SegformerForSemanticSegmentation(c);
        m.state_dict().Keys.Should().Contain("decode_head.weights").And.NotContain("decode_head.linear_fuse.weight");
    }

    [Fact]
    public void Weighted_sum_is_the_weighted_sum_of_upsampled_stage_features()
    {
        manual_seed(9);
        using var scope = NewDisposeScope();
        var c = SegformerConfig.FromName("segformer-b0", 3) with { weighted_sum_decoder = true };
        using var m = new SegformerForSemanticSegmentation(c);
        m.eval();
        using var _ = no_grad();
        ((BoostformerWeightedSumDecodeHead)m.decode_head).weights.copy_(tensor(new[] { 0.5f, -1f, 2f, 0.25f }, 4, 1));
        var x = randn(1, 3, 64, 64);
        using var enc = m.segformer.forward(x);
        Tensor? sum = null;
        var w = new[] { 0.5f, -1f, 2f, 0.25f };
        for (int i = 0; i < 4; i++)
        {
            var s = enc.hidden_states[i].shape;
            var e = ((SegformerDecodeHeadBase)m.decode_head).linear_c[i].call(enc.hidden_states[i]).permute(0, 2, 1).reshape(1, -1, s[2], s[3]);
            var up = nn.functional.interpolate(e, new long[] { 16, 16 }, mode: InterpolationMode.Bilinear, align_corners: false) * w[i];
            sum = sum is null ? up : sum + up;
        }
        var manual = ((SegformerDecodeHeadBase)m.decode_head).classifier.call(nn.functional.relu(((SegformerDecodeHeadBase)m.decode_head).batch_norm.call(sum!)));
        (manual - m.call(x)).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void All_switches_make_boostformer()
    {
        var c = SegformerConfig.WithAllBoostFormerSwitches(B2);
        c.Should().BeEquivalentTo(SegformerConfig.FromName("boostformer-b2"));
        RunsWithShapes(c);
        Count(c).Should().Be(17_576_602);
        using var m = new SegformerForSemanticSegmentation(c);
        m.state_dict().Keys.Should().NotContain(k => k.StartsWith("segformer.encoder.layer_norm."));
        m.state_dict().Keys.Should().NotContain(k => k.Contains("attention.output"));
    }
    [Theory]
    [InlineData('a', "pooling_patch_embedding", "(a) pooling patch embedding", "pooling-patch-embedding", 25_748_822L)]
    [InlineData('b', "poolformer_blocks", "(b) PoolFormer blocks, stages 1–2", "poolformer", 25_312_150L)]
    [InlineData('c', "pooled_kv_attention", "(c) pooled K/V attention, stages 3–4", "pooled-kv", 25_005_526L)]
    [InlineData('d', "remove_self_output", "(d) no attention output projection", "no-self-output", 25_979_158L)]
    [InlineData('e', "mix_cfn", "(e) Mix-CFN", "mix-cfn", 27_661_654L)]
    [InlineData('f', "weighted_sum_decoder", "(f) weighted-sum decoder", "weighted-sum", 25_102_682L)]
    public void Each_switch_descriptor_applied_alone_sets_its_key_and_gives_the_published_count(char letter, string key, string name, string tag, long parameters)
    {
        var s = BoostformerSwitch.FromLetter(letter);
        s.Letter.Should().Be(letter);
        (s.Key, s.Name, s.Tag).Should().Be((key, name, tag));
        BoostformerSwitch.Lettered[letter - 'a'].Should().BeSameAs(s);
        var c = s.Apply(B2);
        ChangedKeys(B2, c).Should().Equal(key);
        BoostformerSwitch.All.Where(x => x.IsOn(c)).Should().Equal(s);
        c.SwitchSummary().Should().Be(tag);
        Count(c).Should().Be(parameters); // the ablation table's figures (results/ablation.md)
    }

    [Fact]
    public void Stage_layer_norm_descriptor_has_no_letter_and_all_descriptors_make_boostformer()
    {
        var s = BoostformerSwitch.NoStageLayerNorm;
        s.Letter.Should().BeNull();
        BoostformerSwitch.Lettered.Should().NotContain(s);
        var c = s.Apply(B2);
        ChangedKeys(B2, c).Should().Equal("encoder_layer_norm");
        c.SwitchSummary().Should().Be("no-stage-layernorm");
        (Count(B2) - Count(c)).Should().Be(2L * B2.hidden_sizes.Sum());
        var all = BoostformerSwitch.All.Aggregate(B2, (acc, x) => x.Apply(acc));
        all.IsBoostFormer.Should().BeTrue();
        all.Should().BeEquivalentTo(SegformerConfig.FromName("boostformer-b2"));
        all.SwitchSummary().Should().Be(string.Join("+", BoostformerSwitch.All.Select(x => x.Tag)));
        B2.SwitchSummary().Should().Be("segformer");
        FluentActions.Invoking(() => BoostformerSwitch.FromLetter('g')).Should().Throw<ArgumentOutOfRangeException>();
    }

    /// <summary>The config.json keys whose values differ between <paramref name="a"/> and <paramref name="b"/>.</summary>
    private static IEnumerable<string> ChangedKeys(SegformerConfig a, SegformerConfig b)
    {
        var ja = System.Text.Json.Nodes.JsonNode.Parse(a.ToJson())!.AsObject();
        var jb = System.Text.Json.Nodes.JsonNode.Parse(b.ToJson())!.AsObject();
        return ja.Where(kv => kv.Value!.ToJsonString() != jb[kv.Key]!.ToJsonString()).Select(kv => kv.Key).ToList();
    }
}
