using BoostFormer.Profiling;
using FluentAssertions;
using Xunit;

namespace BoostFormer.Lib.Tests.Profiling;

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
            var b2 = table.Rows[0];
            b2.Params.Should().Be(27_461_974L);
            table.Rows[^1].Params.Should().Be(17_576_602L);
            // every switch alone changes the model and has no more parameters (at this tiny input the 7x7 pooled keys
            // outnumber the reduced ones, so MACs are not compared)
            foreach (var r in table.Rows.Skip(1))
            {
                (r.Params != b2.Params || r.MacsAll != b2.MacsAll).Should().BeTrue(r.Variant.Name);
                r.Params.Should().BeLessThanOrEqualTo(b2.Params, r.Variant.Name);
                r.MacsAll.Should().Be(r.MacsConvLinear + r.AttentionMacs);
                r.Latency.Should().NotBeNull();
            }

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
