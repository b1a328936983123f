namespace BoostFormer.Data;

/// <summary>
/// The data root, resolved by one set of rules for the CLI (<c>--root</c>) and the notebooks (<c>--param data=</c>): the
/// explicit option first, else the <c>BOOSTFORMER_DATA</c> environment variable, else none (callers then use the synthetic
/// dataset).
/// </summary>
public static class DataRoot
{
    public const string EnvironmentVariable = "BOOSTFORMER_DATA";

    /// <summary>
    /// The data root as an absolute path, or null when neither <paramref name="option"/> nor <c>BOOSTFORMER_DATA</c> is set.
    /// Without <paramref name="requireExisting"/> the path is returned as given (dataset readers then name a missing folder
    /// with the layout they expect, and <c>data prepare</c> creates it). With it, a given option that does not exist is an
    /// error (<see cref="DirectoryNotFoundException"/> naming <paramref name="optionName"/>), and an environment value that
    /// does not exist is ignored with a warning on <paramref name="warnings"/>.
    /// </summary>
    public static string? Resolve(string? option, bool requireExisting = false, TextWriter? warnings = null, string optionName = "--root")
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            var full = Path.GetFullPath(option);
            if (requireExisting && !Directory.Exists(full))
                throw new DirectoryNotFoundException($"{optionName}={option}: the data root '{full}' does not exist");
            return full;
        }
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(env)) return null;
        var fromEnv = Path.GetFullPath(env);
        if (requireExisting && !Directory.Exists(fromEnv))
        {
            warnings?.WriteLine($"warning: {EnvironmentVariable}={env} does not exist; using the embedded synthetic data");
            return null;
        }
        return fromEnv;
    }

    /// <summary>
    /// The folder of a dataset under a root: <paramref name="root"/> itself when it already holds the layout, else
    /// <c>root/&lt;one of names&gt;</c>.
    /// </summary>
    public static string Locate(string root, Func<string, bool> looksRight, IEnumerable<string> names)
    {
        if (looksRight(root)) return root;
        foreach (var n in names)
        {
            var p = Path.Combine(root, n);
            if (looksRight(p)) return p;
        }
        return root;
    }
}
