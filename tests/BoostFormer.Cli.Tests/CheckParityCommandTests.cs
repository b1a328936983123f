using System.Text.Json;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Cli.Tests;

public class CheckParityCommandTests
{
    private static string Fixture(string prefix)
    {
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_FIXTURES");
        string? root = !string.IsNullOrEmpty(env) ? env : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); root is null && dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "shared", "fixtures"))) root = Path.Combine(dir.FullName, "shared", "fixtures");
        root.Should().NotBeNull("the parity fixtures must be reachable (set BOOSTFORMER_FIXTURES)");
        return Directory.GetDirectories(Path.Combine(root!, "parity")).First(d => Path.GetFileName(d).StartsWith(prefix));
    }

    [Fact]
    public async Task Passes_on_the_segformer_fixture()
    {
        var (code, output) = await CliRunner.RunAsync("check-parity", Fixture("segformer-b0"));
        output.Should().Contain("logits").And.Contain("hidden_states.3").And.Contain("loss").And.Contain("grad.decode_head.classifier.weight").And.Contain("PASS");
        code.Should().Be(0, output);
    }

    [Fact]
    public async Task Json_report_on_the_boostformer_fixture()
    {
        var (code, output) = await CliRunner.RunAsync("check-parity", Fixture("boostformer-b0"), "--json");
        code.Should().Be(0, output);
        using var doc = JsonDocument.Parse(output);
        doc.RootElement.GetProperty("passed").GetBoolean().Should().BeTrue();
        doc.RootElement.GetProperty("unused_checkpoint_keys")[0].GetString().Should().Be("decode_head.linear_fuse.weight");
        doc.RootElement.GetProperty("outputs").EnumerateArray().Should().Contain(o => o.GetProperty("name").GetString() == "logits");
    }

    [Fact]
    public async Task Fails_with_nonzero_exit_on_a_corrupted_fixture()
    {
        var src = Fixture("segformer-b0");
        var dir = Directory.CreateTempSubdirectory("bf-parity-").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            // Perturb one classifier weight by 0.05: logits move by far more than 1e-4.
            using (var scope = NewDisposeScope())
            {
                var w = Safetensors.Load(Path.Combine(dir, "weights.safetensors"));
                w["decode_head.classifier.weight"].add_(0.05);
                File.SetAttributes(Path.Combine(dir, "weights.safetensors"), FileAttributes.Normal);
                Safetensors.Save(Path.Combine(dir, "weights.safetensors"), w);
            }
            var (code, output) = await CliRunner.RunAsync("check-parity", dir, "--tolerance", "1e-4");
            code.Should().Be(1, output);
            output.Should().Contain("FAIL").And.Contain("logits");
        }
        finally
        {
            foreach (var f in Directory.GetFiles(dir)) File.SetAttributes(f, FileAttributes.Normal);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Missing_folder_is_a_clear_error()
    {
        var (code, output) = await CliRunner.RunAsync("check-parity", "/nonexistent/fixture");
        code.Should().Be(2);
        output.Should().Contain("/nonexistent/fixture");
    }
}
