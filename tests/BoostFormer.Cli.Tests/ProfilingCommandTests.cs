using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace BoostFormer.Cli.Tests;

public class ProfilingCommandTests
{
    [Fact]
    public async Task Profile_json_reports_params_and_macs_of_segformer_b0()
    {
        var (code, output) = await CliRunner.RunAsync("profile", "--model", "segformer-b0", "--input", "512x512", "--classes", "150", "--json", "--depth", "1");
        code.Should().Be(0, output);
        using var doc = JsonDocument.Parse(output);
        doc.RootElement.GetProperty("params").GetInt64().Should().Be(3_752_694L);
        (doc.RootElement.GetProperty("macs").GetInt64() / 1e9).Should().BeApproximately(8.39, 0.0839);
        doc.RootElement.GetProperty("convention").GetString().Should().Be("all");
        doc.RootElement.GetProperty("modules").EnumerateArray().Max(m => m.GetProperty("depth").GetInt32()).Should().Be(1);
    }

    [Fact]
    public async Task Profile_table_states_its_convention()
    {
        var (code, output) = await CliRunner.RunAsync("profile", "--model", "segformer-b0", "--input", "128x128", "--convention", "conv-linear", "--depth", "2");
        code.Should().Be(0, output);
        output.Should().Contain("segformer.encoder").And.Contain("decode_head").And.Contain("params: 3,752,694")
              .And.Contain("convention: conv-linear").And.Contain("thop");
    }

    [Fact]
    public async Task Profile_rejects_a_bad_input_size_with_one_clear_message()
    {
        var (code, output) = await CliRunner.RunAsync("profile", "--model", "segformer-b0", "--input", "512by512");
        code.Should().Be(2);
        output.Should().Contain("--input must be HxW");
        var (code2, output2) = await CliRunner.RunAsync("profile", "--model", "segformer-b9");
        code2.Should().Be(2);
        output2.Should().Contain("unknown model name");
    }

    [Fact]
    public async Task Profile_takes_a_config_file_such_as_a_zoo_decoder_and_refuses_a_bad_one_naming_the_field()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bf-profile-cfg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var good = Path.Combine(dir, "lawin.json");
            File.WriteAllText(good, """{ "model": "b0-lawin", "decoder_type": "lawin", "decoder_hidden_size": 128, "lawin_embed_dim": 64 }""");
            var (code, output) = await CliRunner.RunAsync("profile", "--config", good, "--input", "64x64", "--classes", "5", "--json", "--depth", "1");
            code.Should().Be(0, output);
            using var doc = JsonDocument.Parse(output);
            var head = doc.RootElement.GetProperty("modules").EnumerateArray().Single(m => m.GetProperty("path").GetString() == "decode_head");
            head.GetProperty("type").GetString().Should().Be("LawinHead");
            var bad = Path.Combine(dir, "bad.json");
            File.WriteAllText(bad, """{ "decoder_type": "lawin", "decoder_hidden_size": 100 }""");
            var (code2, output2) = await CliRunner.RunAsync("profile", "--config", bad);
            code2.Should().Be(2);
            output2.Should().Contain("decoder_hidden_size").And.NotContain("   at ");
            var (code3, output3) = await CliRunner.RunAsync("profile", "--config", good, "--model", "segformer-b0");
            code3.Should().Be(2);
            output3.Should().Contain("not both");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Bench_json_has_median_min_max()
    {
        var (code, output) = await CliRunner.RunAsync("bench", "--model", "segformer-b0", "--input", "64x64", "--threads", "1", "--warmup", "1", "--runs", "3", "--json");
        code.Should().Be(0, output);
        using var doc = JsonDocument.Parse(output);
        var median = doc.RootElement.GetProperty("median_ms").GetDouble();
        median.Should().BeGreaterThan(0);
        doc.RootElement.GetProperty("min_ms").GetDouble().Should().BeLessThanOrEqualTo(median);
        doc.RootElement.GetProperty("max_ms").GetDouble().Should().BeGreaterThanOrEqualTo(median);
        doc.RootElement.GetProperty("runs_ms").GetArrayLength().Should().Be(3);
        doc.RootElement.GetProperty("threads").GetInt32().Should().Be(1);
    }

    [Fact]
    public async Task Ablate_writes_the_table_files()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bf-ablate-cli-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (none, msg) = await CliRunner.RunAsync("ablate");
            none.Should().Be(2);
            msg.Should().Contain("--table");
            var (code, output) = await CliRunner.RunAsync("ablate", "--table", "--input", "64x64", "--runs", "0", "--out", dir);
            code.Should().Be(0, output);
            File.ReadAllText(Path.Combine(dir, "ablation.md")).Should().Contain("(e) Mix-CFN").And.Contain("BoostFormer-B2");
            File.ReadAllLines(Path.Combine(dir, "ablation.csv")).Should().HaveCount(9);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
