using System.Diagnostics;

namespace BoostFormer.Training.Tracking;

/// <summary>The git commit recorded with runs.</summary>
public static class GitInfo
{
    /// <summary>The current git commit of the working directory, or null (not a checkout, no git).</summary>
    public static string? Commit()
    {
        try
        {
            var psi = new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && s.Length > 0 ? s : null;
        }
        catch (Exception) { return null; }
    }
}
