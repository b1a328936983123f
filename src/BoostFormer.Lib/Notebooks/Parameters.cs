using System.Globalization;

namespace BoostFormer.Notebooks;

/// <summary>How big a notebook run is: <see cref="Ci"/> (seconds, for CI), <see cref="Demo"/> (minutes; the default) or <see cref="Full"/> (the real experiment).</summary>
public enum RunScale
{
    Ci,
    Demo,
    Full,
}

/// <summary>The names of the <see cref="RunScale"/>s as the CLI, folders (<c>runs/&lt;scale&gt;/</c>) and run names spell them.</summary>
public static class RunScales
{
    /// <summary>The accepted names, smallest scale first: <c>ci</c>, <c>demo</c>, <c>full</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = Enum.GetValues<RunScale>().Select(Name).ToArray();

    /// <summary>The scale's name: <c>ci</c>, <c>demo</c> or <c>full</c>.</summary>
    public static string Name(this RunScale scale) => scale.ToString().ToLowerInvariant();

    /// <summary>The scale called <paramref name="name"/> (case-insensitive); an unknown name throws <see cref="ArgumentException"/>.</summary>
    public static RunScale Parse(string name)
    {
        foreach (var scale in Enum.GetValues<RunScale>())
            if (string.Equals(scale.Name(), name?.Trim(), StringComparison.OrdinalIgnoreCase)) return scale;
        throw new ArgumentException($"unknown scale '{name}' (use {string.Join(", ", Names)})", nameof(name));
    }
}

/// <summary>
/// The values a notebook run was given, papermill-style: the scale, the data root and free <c>key=value</c> parameters.
/// </summary>
public sealed record ParameterSet
{
    /// <summary>Run scale.</summary>
    public RunScale Scale { get; }
    /// <summary>Data root (the folder holding <c>camvid/</c>, <c>ade20k-sample/</c>, …), or null to use embedded synthetic data.</summary>
    public string? DataRoot { get; }
    /// <summary>Free parameters (<c>--param key=value</c>), keys case-insensitive.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>Creates a parameter set.</summary>
    public ParameterSet(RunScale scale, string? dataRoot, IReadOnlyDictionary<string, string>? values = null)
    {
        Scale = scale;
        DataRoot = dataRoot;
        Values = new Dictionary<string, string>(values ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        foreach (var key in Values.Keys)
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                throw new ArgumentException($"--param {key}=…: a parameter name may contain only letters, digits and '_' (it becomes the environment variable {ParamPrefix}<NAME>)", nameof(values));
    }

    /// <summary>Environment variable holding the scale.</summary>
    public const string ScaleVariable = "BOOSTFORMER_SCALE";
    /// <summary>Environment variable holding the data root.</summary>
    public const string DataVariable = Data.DataRoot.EnvironmentVariable;
    /// <summary>Prefix of the environment variables holding free parameters: <c>BOOSTFORMER_PARAM_EPOCHS=3</c> is <c>epochs=3</c>.</summary>
    public const string ParamPrefix = "BOOSTFORMER_PARAM_";

    /// <summary>
    /// The environment variables that give a process exactly this parameter set through <see cref="FromEnvironment"/>
    /// (how the notebook runner passes parameters to its kernel process). A null value removes a variable inherited from
    /// this process: a data root or a <c>BOOSTFORMER_PARAM_*</c> that the set does not have.
    /// </summary>
    public IReadOnlyDictionary<string, string?> ToEnvironment()
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith(ParamPrefix, StringComparison.Ordinal)))
            env[name] = null;
        env[ScaleVariable] = Scale.Name();
        env[DataVariable] = DataRoot;
        foreach (var (key, value) in Values)
            if (!string.Equals(key, "data", StringComparison.OrdinalIgnoreCase)) env[ParamPrefix + key.ToUpperInvariant()] = value;
        return env;
    }

    /// <summary>Creates a parameter set from a scale name (<c>ci</c>, <c>demo</c>, <c>full</c>).</summary>
    public ParameterSet(string scale, string? dataRoot, IReadOnlyDictionary<string, string>? values = null)
        : this(RunScales.Parse(scale), dataRoot, values) { }

    /// <summary>
    /// Resolves the data root by <see cref="Data.DataRoot.Resolve"/>'s rules with existing folders required: the <c>data</c>
    /// parameter (must exist), else the environment variable <c>BOOSTFORMER_DATA</c> (ignored, with a warning, when the folder
    /// does not exist), else null.
    /// </summary>
    public static ParameterSet Resolve(string scale, IReadOnlyDictionary<string, string>? values, TextWriter? warnings = null)
    {
        values ??= new Dictionary<string, string>();
        var given = values.FirstOrDefault(kv => string.Equals(kv.Key, "data", StringComparison.OrdinalIgnoreCase)).Value;
        var root = Data.DataRoot.Resolve(given, requireExisting: true, warnings, optionName: "--param data");
        return new ParameterSet(scale, root, values);
    }

    /// <summary>
    /// From the environment: <c>BOOSTFORMER_SCALE</c> (default <c>demo</c>), <c>BOOSTFORMER_DATA</c> and every
    /// <c>BOOSTFORMER_PARAM_NAME=value</c> (as <c>name=value</c>). This is what a notebook sees: the runner starts its
    /// kernel with these variables (<see cref="ToEnvironment"/>), and in Polyglot Notebooks or Jupyter they come from the
    /// environment the editor was started in.
    /// </summary>
    public static ParameterSet FromEnvironment()
    {
        var scale = Environment.GetEnvironmentVariable(ScaleVariable) is { Length: > 0 } s && RunScales.Names.Contains(s) ? s : "demo";
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Key is string name && name.StartsWith(ParamPrefix, StringComparison.Ordinal) && name.Length > ParamPrefix.Length
                && name[ParamPrefix.Length..].All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                values[name[ParamPrefix.Length..]] = e.Value as string ?? "";
        return Resolve(scale, values);
    }
}

/// <summary>
/// What the current notebook run was given (papermill-like): <c>Parameters.Scale</c> (and its name <c>Parameters.ScaleName</c>), <c>Parameters.DataRoot</c>,
/// <c>Parameters.Get("epochs", 3)</c>, <c>Parameters.ByScale(ci: 2, demo: 20, full: 200)</c>. They come from the
/// environment (<see cref="ParameterSet.FromEnvironment"/>: <c>BOOSTFORMER_SCALE</c>, <c>BOOSTFORMER_DATA</c>,
/// <c>BOOSTFORMER_PARAM_NAME</c>), which <c>boostformer notebooks run</c> sets for its kernel process from <c>--scale</c>
/// and <c>--param</c>; code in the same process (tests) can replace them with <see cref="Use"/>.
/// </summary>
public static class Parameters
{
    private static ParameterSet? _current;
    private static readonly object Gate = new();

    /// <summary>The active parameter set.</summary>
    public static ParameterSet Current
    {
        get { lock (Gate) return _current ??= ParameterSet.FromEnvironment(); }
    }

    /// <summary>Makes <paramref name="set"/> active until the returned handle is disposed (for code that runs in the same process, such as tests).</summary>
    public static IDisposable Use(ParameterSet set)
    {
        lock (Gate)
        {
            var previous = _current;
            _current = set;
            return new Restore(previous);
        }
    }

    private sealed class Restore(ParameterSet? previous) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            lock (Gate) _current = previous;
        }
    }

    /// <summary>Run scale.</summary>
    public static RunScale Scale => Current.Scale;
    /// <summary>The scale's name, <c>ci</c>, <c>demo</c> or <c>full</c>: what folders (<c>runs/&lt;scale&gt;/</c>) and run names use.</summary>
    public static string ScaleName => Scale.Name();
    /// <summary>True at <c>ci</c> scale.</summary>
    public static bool IsCi => Scale == RunScale.Ci;
    /// <summary>Data root, or null when the notebook should use embedded synthetic data.</summary>
    public static string? DataRoot => Current.DataRoot;
    /// <summary>True when a data root is available.</summary>
    public static bool HasData => DataRoot is not null;
    /// <summary>All free parameters.</summary>
    public static IReadOnlyDictionary<string, string> Values => Current.Values;

    /// <summary>Picks the value for the current scale.</summary>
    public static T ByScale<T>(T ci, T demo, T full) => Scale switch { RunScale.Ci => ci, RunScale.Demo => demo, _ => full };

    /// <summary>The parameter <paramref name="key"/> converted to <typeparamref name="T"/> (invariant culture), or <paramref name="defaultValue"/>.</summary>
    public static T Get<T>(string key, T defaultValue)
    {
        if (!Values.TryGetValue(key, out var raw)) return defaultValue;
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            object value = target == typeof(string) ? raw
                : target == typeof(bool) ? raw.Trim().ToLowerInvariant() switch
                {
                    "1" or "true" or "yes" or "on" => true,
                    "0" or "false" or "no" or "off" => false,
                    _ => throw new FormatException("expected true/false"),
                }
                : target.IsEnum ? Enum.Parse(target, raw, ignoreCase: true)
                : Convert.ChangeType(raw, target, CultureInfo.InvariantCulture);
            return (T)value;
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or ArgumentException)
        {
            throw new ArgumentException($"parameter {key}={raw} is not a valid {target.Name}: {e.Message}", key, e);
        }
    }

    /// <summary>The string parameter <paramref name="key"/>, or <paramref name="defaultValue"/>.</summary>
    public static string Get(string key, string defaultValue) => Get<string>(key, defaultValue);

    /// <summary>A path under the data root; throws a clear error when there is no data root.</summary>
    public static string DataPath(params string[] parts)
    {
        if (DataRoot is null) throw new InvalidOperationException("no data root: pass --param data=DIR or set BOOSTFORMER_DATA (check Parameters.HasData first)");
        return Path.Combine(new[] { DataRoot }.Concat(parts).ToArray());
    }

    /// <summary>True when the data root exists and contains <paramref name="relative"/> (file or folder).</summary>
    public static bool HasDataFile(string relative) =>
        DataRoot is not null && (File.Exists(Path.Combine(DataRoot, relative)) || Directory.Exists(Path.Combine(DataRoot, relative)));
}
