using BoostFormer.Models;
using BoostFormer.Profiling;
using FluentAssertions;
using Xunit;

namespace BoostFormer.Lib.Tests.Profiling;

/// <summary>
/// The profiler reproduces the published SegFormer numbers at 512x512 with 150 classes (params exact, MACs within 1%;
/// MACs = conv + linear + attention matmuls, the paper's "GFLOPs") and the BoostFormer-B2 numbers of the issue.
/// </summary>
public class SegformerProfileTests
{
    private static readonly InputSize Ade = new(512, 512);

    [Theory]
    [InlineData("segformer-b0", 3_752_694L, 8.39)]
    [InlineData("segformer-b2", 27_461_974L, 62.34)]
    public void Reproduces_the_published_segformer_numbers(string name, long parameters, double gmac)
    {
        var r = SegformerProfiling.Profile(SegformerConfig.FromName(name, 150), Ade);
        r.Params.Should().Be(parameters);
        (r.Macs / 1e9).Should().BeApproximately(gmac, gmac * 0.01);
        r.Modules.Single(m => m.Path == "").Params.Should().Be(parameters);
    }

    [Theory]
    [Trait("Category", "Slow")]
    [InlineData("segformer-b1", 13_715_798L, 15.88)]
    [InlineData("segformer-b3", 47_337_814L, 78.96)]
    [InlineData("segformer-b4", 64_108_374L, 95.57)]
    [InlineData("segformer-b5", 84_708_694L, 111.51)]
    public void Reproduces_the_published_numbers_of_the_larger_variants(string name, long parameters, double gmac)
    {
        var r = SegformerProfiling.Profile(SegformerConfig.FromName(name, 150), Ade);
        r.Params.Should().Be(parameters);
        (r.Macs / 1e9).Should().BeApproximately(gmac, gmac * 0.01);
    }

    [Fact]
    public void Reproduces_boostformer_b2_params_and_macs_by_kind()
    {
        var r = SegformerProfiling.Profile(SegformerConfig.FromName("boostformer-b2", 150), Ade);
        r.Params.Should().Be(17_576_602L);
        (r.AllMacs / 1e9).Should().BeApproximately(15.69, 15.69 * 0.01);
        (r.ConvLinearMacs / 1e9).Should().BeApproximately(15.455, 15.455 * 0.01);
        (r.Total.Macs(MacKind.Attention) / 1e9).Should().BeApproximately(0.231, 0.231 * 0.01);
    }

    [Fact]
    public void Segformer_b2_conv_linear_convention_is_close_to_the_seed_thop_figure()
    {
        // the seed's 58.576G (thop) = conv + linear + thop's small extras for BatchNorm etc.
        var r = SegformerProfiling.Profile(SegformerConfig.FromName("segformer-b2", 150), Ade, MacConvention.ConvLinear);
        r.Macs.Should().Be(r.ConvLinearMacs);
        (r.Macs / 1e9).Should().BeInRange(58.576 * 0.99, 58.576);
        // per-module rows add up: every MAC is inside the encoder or the decode head, and each attention layer's
        // matmuls are attributed to its self-attention module
        var top = r.Modules.Where(m => m.Depth == 1).Sum(m => m.Counts.Macs(MacConvention.All));
        top.Should().Be(r.AllMacs);
        r.Modules.Single(m => m.Path == "segformer.encoder.block.0.0.attention.self").Counts.Macs(MacKind.Attention)
            .Should().Be(2L * 128 * 128 * 256 * 64);
    }
}
