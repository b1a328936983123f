using System.Diagnostics;

namespace BoostFormer.Lib.Tests.Notebooks;

/// <summary>Temporary folders, the data root and external tools (python3-nbformat, jupyter-nbconvert) for the visualisation and notebook tests (tests/BoostFormer.Notebooks.Tests links this file).</summary>
public static class NotebookTestSupport
{
    /// <summary>A fresh temporary folder.</summary>
    public static string TempDir(string tag)
    {
        var d = Path.Combine(Path.GetTempPath(), $"bf-{tag}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>The data root for data-dependent tests (BOOSTFORMER_DATA, else shared/data found walking up), or null.</summary>
    public static string? DataRoot
    {
        get
        {
            if (Environment.GetEnvironmentVariable("BOOSTFORMER_DATA") is { Length: > 0 } env && Directory.Exists(env)) return env;
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                var c = Path.Combine(d.FullName, "shared", "data");
                if (Directory.Exists(c)) return c;
            }
            return null;
        }
    }

    /// <summary>Runs a program and returns its exit code and combined output.</summary>
    public static (int Code, string Output) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000)) { p.Kill(true); throw new TimeoutException($"{program} did not finish in 180 s"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs a script with Debian's /usr/bin/python3 (the interpreter that has nbformat, PIL and numpy).</summary>
    public static (int Code, string Output) Python(string script, params string[] args) =>
        Run("/usr/bin/python3", new[] { "-c", script }.Concat(args).ToArray());
}
