using System.Diagnostics;

namespace BoostFormer.Notebooks.Tests;

/// <summary>A fact that is skipped when Jupyter's notebook client or the .net-csharp kernel is not installed (scripts/setup.sh installs both).</summary>
public sealed class JupyterFactAttribute : FactAttribute
{
    public JupyterFactAttribute()
    {
        if (JupyterTests.MissingReason() is { } reason) Skip = reason;
    }
}

/// <summary>
/// The notebooks run in Jupyter's <c>.net-csharp</c> kernel (the dotnet-interactive tool, driven by nbclient through
/// <c>scripts/jupyter-check.py</c>) as they do in the runner: a reader opening them in Jupyter gets no error cell.
/// </summary>
[Collection("NotebookRunner")]
public class JupyterTests
{
    private static string RepoRoot => Path.GetFullPath(Path.Combine(NotebookFixtures.SourceDir(), "..", ".."));
    private static string Check => Path.Combine(RepoRoot, "scripts", "jupyter-check.py");

    internal static string? MissingReason()
    {
        if (!File.Exists("/usr/bin/python3")) return "no /usr/bin/python3";
        var (code, output) = Run("/usr/bin/python3", "-c", "import nbclient; from jupyter_client.kernelspec import KernelSpecManager as K; K().get_kernel_spec('.net-csharp')");
        return code == 0 ? null : $"Jupyter (nbclient) or its .net-csharp kernel is missing (scripts/setup.sh installs them): {output.Trim().Split('\n').Last()}";
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["BOOSTFORMER_SCALE"] = "ci";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [JupyterFact]
    public void The_fixture_and_the_tour_run_in_jupyters_dotnet_kernel_without_an_error_cell()
    {
        var (code, output) = Run("/usr/bin/python3", Check, "--timeout", "300",
            Path.Combine(NotebookFixtures.Dir, "succeeds.ipynb"), Path.Combine(RepoRoot, "notebooks", "00-tour.ipynb"));
        code.Should().Be(0, output);
        output.Should().Contain("succeeds.ipynb: ok").And.Contain("00-tour.ipynb: ok").And.Contain("kernel .net-csharp");
    }

    [JupyterFact]
    public void A_failing_cell_in_jupyter_fails_the_check_naming_the_exception()
    {
        var (code, output) = Run("/usr/bin/python3", Check, "--timeout", "120", Path.Combine(NotebookFixtures.Dir, "fails.ipynb"));
        code.Should().Be(1, output);
        output.Should().Contain("fails.ipynb: FAILED").And.Contain("boom at n=42");
    }
}
