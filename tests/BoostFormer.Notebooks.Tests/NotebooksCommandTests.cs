using System.Text.Json.Nodes;
using BoostFormer.Cli.Tests;

namespace BoostFormer.Notebooks.Tests;

[Collection("NotebookRunner")]
public class NotebooksCommandTests
{
    private static string Fixtures => NotebookFixtures.Dir;

    private static string Temp()
    {
        var d = Path.Combine(Path.GetTempPath(), $"bf-cli-nb-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public async Task Run_writes_the_executed_notebook_and_prints_progress()
    {
        var outDir = Temp();
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "succeeds.ipynb"), "--scale", "ci", "--param", "answer=42", "--output", outDir);
        code.Should().Be(0, output);
        output.Should().Contain("[succeeds.ipynb] cell 2/8 ok").And.Contain("[succeeds.ipynb] cell 8/8 ok").And.MatchRegex(@"succeeds\.ipynb\s+7\s+[0-9.]+\s+ok");
        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "succeeds.ipynb")))!;
        nb["cells"]![1]!["outputs"]!.ToJsonString().Should().Contain("answer=42");
    }

    [Fact]
    public async Task Failing_cell_exits_non_zero_naming_notebook_cell_line_and_exception()
    {
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "fails.ipynb"), "--scale", "ci", "-o", Temp());
        code.Should().Be(1, output);
        output.Should().Contain("error: fails.ipynb: cell 3, line 2: System.InvalidOperationException: boom at n=42");
    }

    [Fact]
    public async Task Cell_past_the_timeout_fails()
    {
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "timeout.ipynb"), "--timeout-per-cell", "20", "-o", Temp());
        code.Should().Be(1, output);
        output.Should().Contain("timeout.ipynb: cell 2: timed out (the cell did not finish within 20 s (--timeout-per-cell))");
    }

    [Fact]
    public async Task A_folder_runs_in_order_and_stops_at_the_first_failing_notebook()
    {
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Fixtures, "-o", Temp());
        code.Should().Be(1, output);
        output.Should().Contain("error: compile-error.ipynb: cell 2, line 2: CompilationError: CS0103: The name 'Path' does not exist in the current context");
        output.Should().NotContain("[fails.ipynb]", "the run stops at the first failure");
        output.Should().Contain("4 notebook(s) not run after the failure");
    }

    [Fact]
    public async Task In_place_writes_outputs_into_the_source_notebook()
    {
        var dir = Temp();
        var nb = Path.Combine(dir, "copy.ipynb");
        // The copy lives elsewhere: its #r lines point at the library by absolute path instead.
        var bin = Path.GetFullPath(Path.Combine(Fixtures, "..", "..", "..", "src", "BoostFormer.Cli", "bin", "Release", "net10.0"));
        File.WriteAllText(nb, File.ReadAllText(Path.Combine(Fixtures, "succeeds.ipynb")).Replace("../../../src/BoostFormer.Cli/bin/Release/net10.0", bin));
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", nb, "--in-place", "--scale", "ci");
        code.Should().Be(0, output);
        var doc = JsonNode.Parse(File.ReadAllText(nb))!;
        doc["cells"]![2]!["outputs"]![0]!["data"]!["text/plain"]!.ToJsonString().Should().Contain("HELLO FROM CELL 2");
        doc["metadata"]!["boostformer"]!["scale"]!.GetValue<string>().Should().Be("ci");
    }

    [Theory]
    [InlineData("--param", "novalue", "--param 'novalue': expected key=value")]
    [InlineData("--param", "data=/definitely/not/here", "--param data=/definitely/not/here: the data root '/definitely/not/here' does not exist")]
    [InlineData("--timeout-per-cell", "-3", "--timeout-per-cell must be >= 0")]
    [InlineData("--param", "max-steps=3", "--param max-steps=…: a parameter name may contain only letters, digits and '_'")]
    public async Task Bad_arguments_give_one_clear_error(string option, string value, string message)
    {
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "succeeds.ipynb"), option, value, "-o", Temp());
        code.Should().Be(2, output);
        output.Should().Contain("error: " + message);
    }

    [Fact]
    public async Task A_cell_that_exits_the_kernel_fails_the_run()
    {
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "exits.ipynb"), "-o", Temp());
        code.Should().Be(1, output);
        output.Should().Contain("error: exits.ipynb: cell 2: the cell ended the kernel process (exit code 3)");
    }

    [Fact]
    public async Task An_output_that_cannot_be_written_is_one_clear_error_before_any_cell_runs()
    {
        var blocker = Path.Combine(Temp(), "file");
        File.WriteAllText(blocker, "");
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "succeeds.ipynb"), "-o", blocker);
        code.Should().Be(2, output);
        // The CLI checks --output before the runner starts (one line naming the option and the folder).
        output.Should().Contain($"error: --output {blocker}: cannot write there").And.NotContain("[succeeds.ipynb] cell");
        output.Trim().Split('\n').Should().HaveCount(1, "one line, no stack trace");
    }

    [Fact]
    public async Task Missing_notebook_and_unknown_scale_are_rejected()
    {
        var (code, output) = await CliRunner.RunAsync("notebooks", "run", "no/such.ipynb");
        code.Should().Be(2, output);
        output.Should().Contain("notebook or folder 'no/such.ipynb' does not exist");
        var (code2, output2) = await CliRunner.RunAsync("notebooks", "run", Path.Combine(Fixtures, "succeeds.ipynb"), "--scale", "huge");
        code2.Should().NotBe(0, output2);
        output2.Should().Contain("huge");
    }

    [Fact]
    public async Task Convert_turns_a_percent_script_into_a_runnable_notebook_and_back()
    {
        var dir = Temp();
        var script = Path.Combine(dir, "demo.cs");
        File.WriteAllText(script, "// %% [markdown]\n// # Demo\n\n// %%\nvar x = 20;\n// %%\nx + 22\n");
        var nb = Path.Combine(dir, "demo.ipynb");
        var (code, output) = await CliRunner.RunAsync("notebooks", "convert", script, nb);
        code.Should().Be(0, output);
        output.Should().Contain("3 cells");
        (code, output) = await CliRunner.RunAsync("notebooks", "run", nb, "--in-place", "--scale", "ci");
        code.Should().Be(0, output);
        JsonNode.Parse(File.ReadAllText(nb))!["cells"]![2]!["outputs"]![0]!["data"]!["text/plain"]!.ToJsonString().Should().Contain("42");
        var back = Path.Combine(dir, "back.cs");
        (code, output) = await CliRunner.RunAsync("notebooks", "convert", nb, back);
        code.Should().Be(0, output);
        File.ReadAllText(back).Should().Be("// %% [markdown]\n// # Demo\n\n// %%\nvar x = 20;\n\n// %%\nx + 22\n");
        (code, output) = await CliRunner.RunAsync("notebooks", "convert", nb, nb);
        code.Should().Be(2, output);
        output.Should().Contain("exactly one .ipynb");
    }
}
