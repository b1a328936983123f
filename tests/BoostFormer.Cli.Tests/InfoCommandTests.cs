namespace BoostFormer.Cli.Tests;

public class InfoCommandTests
{
    [Fact]
    public async Task Info_runs_a_smoke_computation()
    {
        var (code, output) = await CliRunner.RunAsync("info");
        code.Should().Be(0, output);
        output.Should().Contain("smoke:").And.Contain("TorchSharp 0.107").And.Contain("LibTorch 2.10");
    }
}
