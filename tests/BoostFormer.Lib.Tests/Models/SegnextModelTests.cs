using BoostFormer.Models;
using BoostFormer.Profiling;
using TorchSharp;
using static TorchSharp.torch;
using static BoostFormer.Lib.Tests.Models.ZooModelTests;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// SegNeXt-T (MSCAN-T + LightHamHead) against the reference counts of the official code (spec §14), its mmseg key names,
/// and MSCA against PyTorch.
/// </summary>
public class SegnextModelTests
{
    [Fact]
    public void Segnext_t_has_the_reference_parameter_counts_and_macs()
    {
        using var m = SegformerForSemanticSegmentation.FromName("segnext-t", 150);
        m.parameter_count().Should().Be(4_263_414);
        m.segformer.parameter_count().Should().Be(3_903_584);
        m.decode_head.parameter_count().Should().Be(359_830);
        var r = SegformerProfiling.Profile(m.config, new InputSize(512, 512), MacConvention.ConvLinear);
        r.ConvLinearMacs.Should().Be(6_102_417_408);
        // NMF at 1/8 (N = 64²), D = 256, R = 16, 7 evaluation steps: 0.3019 G
        r.Total.Macs(MacKind.Attention).Should().Be(301_924_352);
    }

    [Fact]
    public void Mscan_blocks_cost_what_the_hand_derivation_says()
    {
        using var m = SegformerForSemanticSegmentation.FromName("segnext-t", 150);
        for (int stage = 0; stage < 4; stage++)
        {
            long c = m.config.hidden_sizes[stage], r = m.config.mlp_ratios[stage];
            var block = (MscanBlock)m.segformer.encoder.block[stage][0];
            // spatial attention: 1x1 proj_1, proj_2, conv3 (3(C²+C)), DW 5x5 (26C), strips 2·(7+11+21)C + 6C biases
            block.attn.parameter_count().Should().Be(3 * (c * c + c) + 26 * c + 2 * (7 + 11 + 21) * c + 6 * c);
            // mlp: fc1 C·rC + rC, DW 3x3 10rC, fc2 rC·C + C
            block.mlp.parameter_count().Should().Be(2 * r * c * c + r * c + 10 * r * c + c);
            block.parameter_count().Should().Be(block.attn.parameter_count() + block.mlp.parameter_count() + 4 * c + 2 * c);
        }
        m.segformer.encoder.patch_embeddings[0].Should().BeOfType<MscanStemConv>();
        m.segformer.encoder.patch_embeddings.Skip(1).Should().AllBeOfType<MscanOverlapPatchEmbed>();
        m.decode_head.OutputStride.Should().Be(8);
    }

    [Fact]
    public void Segnext_t_exports_the_official_mmseg_key_names_and_loads_them_back()
    {
        using var a = SegformerForSemanticSegmentation.FromName("segnext-t", 19);
        var official = SegformerKeyMapping.Segnext.Export(a.state_dict());
        official.Keys.Should().Contain(new[]
        {
            "backbone.patch_embed1.proj.0.weight", "backbone.patch_embed1.proj.1.running_var", "backbone.patch_embed1.proj.3.weight",
            "backbone.patch_embed2.proj.weight", "backbone.patch_embed2.norm.weight",
            "backbone.block1.0.layer_scale_1", "backbone.block1.0.norm1.weight", "backbone.block1.0.attn.proj_1.weight",
            "backbone.block1.0.attn.spatial_gating_unit.conv0.weight", "backbone.block1.0.attn.spatial_gating_unit.conv2_2.weight",
            "backbone.block1.0.attn.spatial_gating_unit.conv3.bias", "backbone.block1.0.mlp.fc1.weight", "backbone.block1.0.mlp.dwconv.dwconv.weight",
            "backbone.block4.1.mlp.fc2.bias", "backbone.norm1.weight", "backbone.norm4.bias",
            "decode_head.conv_seg.weight", "decode_head.squeeze.conv.weight", "decode_head.squeeze.gn.weight",
            "decode_head.hamburger.ham_in.conv.weight", "decode_head.hamburger.ham_in.conv.bias", "decode_head.hamburger.ham_out.conv.weight",
            "decode_head.hamburger.ham_out.gn.bias", "decode_head.align.conv.weight", "decode_head.align.gn.weight",
        });
        official.Keys.Should().NotContain(k => k.StartsWith("segformer.", StringComparison.Ordinal));
        CheckpointImport.DetectNaming(official.Keys).Should().Be("segnext");

        using var b = SegformerForSemanticSegmentation.FromName("segnext-t", 19);
        var report = CheckpointImport.LoadStateDictInto(b, official, strict: true);
        report.naming.Should().Be("segnext");
        report.missing.Should().BeEmpty();
        using var _ = no_grad();
        foreach (var (k, v) in a.state_dict()) MaxAbs(b.state_dict()[k], v).Should().Be(0, k);
        a.eval(); b.eval();
        using var x = randn(1, 3, 64, 64);
        using var ea = a.segformer.forward(x);
        using var eb = b.segformer.forward(x);
        for (int i = 0; i < 4; i++) MaxAbs(ea.hidden_states[i], eb.hidden_states[i]).Should().Be(0);
    }

    [Fact]
    public void Msca_matches_pytorch_as_a_module_and_as_a_token_mixer()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("msca.safetensors");
        using var mixer = new SegnextMscaTokenMixer(8);
        LoadState(mixer, fx);
        using var _ = no_grad();
        var x = fx["x"];
        var tokens = x.flatten(2).transpose(1, 2);
        var outTokens = mixer.call(tokens, 23, 17);
        MaxAbs(outTokens.transpose(1, 2).reshape(2, 8, 23, 17), fx["out"]).Should().BeLessThan(1e-5);
        using var sa = new SegnextSpatialAttention(8, shortcut: true);
        LoadState(sa, fx);
        MaxAbs(sa.call(x), fx["out"] + x).Should().BeLessThan(1e-5);
    }
}
