namespace BoostFormer.Cli.Tests;

public class InfoCommandTests
{
    [Fact]
    public async Task InfoRunsASmokeComputation()
    {
        var (code, output) = await CliRunner.RunAsync("info");
        code.Should().Be(0, output);
        output.Should().Contain("smoke:").And.Contain("TorchSharp 0.107").And.Contain("LibTorch 2.10");
    }
}
