using BoostFormer.Models;
using BoostFormer.Profiling;

namespace BoostFormer.Lib.Tests.Profiling;

/// <summary>Each zoo module measured at its own place in SegFormer-B0 (notebook 10's cost table).</summary>
public class ZooModuleCostsTests
{
    [Fact]
    public void The_baseline_attention_block_of_stage_3_costs_what_a_hand_count_gives()
    {
        // SegFormer-B0 stage 3: C = 160, 5 heads, sr 2. At 64×64 the stage sees 4×4 = 16 tokens and 2×2 = 4 reduced ones.
        var row = ZooModuleCosts.Run(new InputSize(64, 64), classes: 11, only: new[] { ZooModule.Lsra }).Single();
        row.Path.Should().Be("segformer.encoder.block.2.0.attention");
        // q, k, v, output dense: 4 × (160·160 + 160); sr conv 2×2: 160·160·4 + 160; LayerNorm 2·160
        row.BaseParams.Should().Be(4 * (160 * 160 + 160) + (160 * 160 * 4 + 160) + 2 * 160);
        long q = 16 * 160 * 160, kv = 2 * 4 * 160 * 160, sr = 4 * 160 * 160 * 4, output = 16 * 160 * 160, matmul = 2 * 16 * 4 * 160;
        row.BaseMacsConvLinear.Should().Be(q + kv + sr + output);
        row.BaseMacsAll.Should().Be(q + kv + sr + output + matmul);
        // LSRA: 7×7 pooled keys/values → 1×1 conv (160·160 + 160) → LN; one fused kv; the output dense stays in SegFormer-B0
        row.Params.Should().BeGreaterThan(0).And.NotBe(row.BaseParams);
        row.Type.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void Every_zoo_module_is_found_at_its_place_and_counted_like_the_module_itself()
    {
        var rows = ZooModuleCosts.Run(new InputSize(64, 64), classes: 5);
        rows.Select(r => r.Module).Should().Equal(ZooModule.All);
        var b0 = SegformerConfig.FromName("segformer-b0", 5);
        foreach (var r in rows)
        {
            using var model = new SegformerForSemanticSegmentation(r.Module.Apply(b0));
            ZooModuleCosts.At(model, r.Module).parameter_count().Should().Be(r.Params, r.Module.Label);
            r.MacsAll.Should().BeGreaterThanOrEqualTo(r.MacsConvLinear, r.Module.Label);
        }
        rows.Single(r => r.Module == ZooModule.DestMixFfn).Path.Should().EndWith(".mlp");
        using (var lsra = new SegformerForSemanticSegmentation(ZooModule.Lsra.Apply(b0)))
            ZooModuleCosts.At(lsra, ZooModule.Lsra, drawn: true).Should().BeOfType<SegformerEfficientSelfAttention>("a token mixer is drawn without the shared output projection");
        rows.Single(r => r.Module == ZooModule.HamDecoder).MacsAll.Should().BeGreaterThan(rows.Single(r => r.Module == ZooModule.HamDecoder).MacsConvLinear, "NMF is matrix products");
        rows.Single(r => r.Module == ZooModule.NoAttentionOutput).Params.Should().BeLessThan(rows[0].BaseParams, "the output projection is gone");
        FluentActions.Invoking(() => ZooModuleCosts.PathOf("nowhere")).Should().Throw<ArgumentException>().WithMessage("*nowhere*");
    }
}
