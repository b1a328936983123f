namespace BoostFormer.Tests;

/// <summary>Locates shared test inputs: data (BOOSTFORMER_DATA or shared/data) and fixtures (BOOSTFORMER_FIXTURES or shared/fixtures).</summary>
public static class TestPaths
{
    public static string Fixtures => Find("BOOSTFORMER_FIXTURES", Path.Combine("shared", "fixtures"));
    public static string Data => Find("BOOSTFORMER_DATA", Path.Combine("shared", "data"));

    /// <summary>Every parity fixture folder (parity/*).</summary>
    public static IEnumerable<string> ParityFixtures() =>
        Directory.Exists(Path.Combine(Fixtures, "parity")) ? Directory.GetDirectories(Path.Combine(Fixtures, "parity")).OrderBy(d => d, StringComparer.Ordinal) : Enumerable.Empty<string>();

    private static string Find(string env, string relative)
    {
        var e = Environment.GetEnvironmentVariable(env);
        if (!string.IsNullOrEmpty(e)) return e;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, relative);
            if (Directory.Exists(p)) return p;
        }
        throw new DirectoryNotFoundException($"could not find {relative} above {AppContext.BaseDirectory}; set {env}");
    }
}
