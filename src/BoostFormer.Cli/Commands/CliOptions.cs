using System.Globalization;
using BoostFormer.Training;

namespace BoostFormer.Cli.Commands;

/// <summary>Option values several verbs parse the same way.</summary>
internal static class CliOptions
{
    /// <summary>
    /// Two positive integers written <c>AxB</c> (e.g. <c>--scale 2048x512</c>, <c>--slide 512x341</c>); otherwise an
    /// <see cref="ArgumentException"/> naming <paramref name="option"/> and the expected <paramref name="format"/>.
    /// </summary>
    public static (int, int) Pair(string text, string option, string format)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var a) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var b) || a <= 0 || b <= 0)
            throw new ArgumentException($"{option} must be {format} with positive integers (e.g. 2048x512), got '{text}'");
        return (a, b);
    }

    /// <summary>
    /// The model of <c>--model NAME</c> or <c>--config FILE</c> (a config.json: any variant); null when neither is given.
    /// Giving both is an error.
    /// </summary>
    public static ModelSpec? Model(string? name, string? config)
    {
        if (config is null) return name;
        if (name is not null) throw new ArgumentException("give --model or --config, not both");
        return ModelSpec.FromFile(config);
    }
}
