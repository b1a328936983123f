using BoostFormer.Models;
using BoostFormer.Profiling;
using FluentAssertions;
using Xunit;

namespace BoostFormer.Lib.Tests.Profiling;

[Collection(BoostFormer.Lib.Tests.ProcessWideSettings.Name)]
public class AblationTests
{
    [Fact]
    public void Table_regenerates_with_every_switch_and_both_conventions()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bf-ablation-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new AblationOptions { Input = new InputSize(64, 64), Classes = 150, Warmup = 0, Runs = 1, Threads = 1 };
            var table = Ablation.Run(options);
            table.Rows.Should().HaveCount(8);
            table.Rows.Select(r => r.Variant.Name).Should().Equal("SegFormer-B2", "(a) pooling patch embedding", "(b) PoolFormer blocks, stages 1–2",
                "(c) pooled K/V attention, stages 3–4", "(d) no attention output projection", "(e) Mix-CFN", "(f) weighted-sum decoder",
                "BoostFormer-B2 (all, = BoostFormer)");
            table.Rows.Select(r => r.Variant.ShortName).Should().Equal("SegFormer-B2", "(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "BoostFormer-B2");
            foreach (var s in BoostformerSwitch.Lettered)
            {
                table.Row(s).Variant.Name.Should().Be(s.Name);
                table.Row(s).Variant.Config.Should().BeEquivalentTo(s.Apply(table.Base.Variant.Config));
            }
            table.AllSwitches.Should().BeSameAs(table.Rows[^1]);
            var b2 = table.Base;
            b2.Params.Should().Be(27_461_974L);
            table.Rows[^1].Params.Should().Be(17_576_602L);
            // every switch alone changes the model (at this tiny input the 7x7 pooled keys outnumber the reduced ones
            // and Mix-CFN adds BatchNorms and 5x5 kernels, so no monotonicity is asserted)
            foreach (var r in table.Rows.Skip(1))
            {
                (r.Params != b2.Params || r.MacsAll != b2.MacsAll).Should().BeTrue(r.Variant.Name);
                r.MacsAll.Should().Be(r.MacsConvLinear + r.AttentionMacs);
                r.Latency.Should().NotBeNull();
            }

            // (d) drops each layer's attention output projection C×C + C: 3·(64²+64) + 4·(128²+128) + 6·(320²+320) + 3·(512²+512)
            table.Row(BoostformerSwitch.RemoveSelfOutput).Params.Should().Be(b2.Params - 1_482_816L);
            // (f) drops the 1x1 fuse conv 4·768 → 768 (no bias) and adds a few per-stage scalars
            table.Row(BoostformerSwitch.WeightedSumDecoder).Params.Should().BeInRange(b2.Params - 2_359_296L, b2.Params - 2_359_296L + 16);

            var (md, csv) = table.WriteTo(dir);
            var mdText = File.ReadAllText(md);
            mdText.Should().Contain("27.462M").And.Contain("58.576G").And.Contain("17.575M").And.Contain("15.826G")
                  .And.Contain("thop").And.Contain("conv+linear+attention").And.Contain("boostformer ablate --table");
            var lines = File.ReadAllLines(csv);
            lines.Should().HaveCount(9);
            lines[0].Should().Contain("macs_conv_linear_attention").And.Contain("macs_conv_linear_thop").And.Contain("latency_median_ms");
            lines[1].Should().StartWith("SegFormer-B2,segformer,27461974,");
            Directory.GetFiles(dir).Should().HaveCount(2, "temp files are renamed, none left behind");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Rejects_a_boostformer_base_model()
    {
        var act = () => Ablation.Variants("boostformer-b2");
        act.Should().Throw<ArgumentException>().WithMessage("*base model*");
    }
}
