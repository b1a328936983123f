using System.Globalization;
using BoostFormer.Training;

namespace BoostFormer.Cli.Commands;

/// <summary>Option values several verbs parse the same way.</summary>
internal static class CliOptions
{
    /// <summary>
    /// <paramref name="precision"/>, after printing to stderr why bf16 will be slow when this CPU has no native bf16
    /// (<see cref="BoostFormer.Profiling.CpuFeatures.Bf16Warning"/>).
    /// </summary>
    public static Precision WarnIfEmulated(Precision precision)
    {
        if (precision == Precision.Bf16 && BoostFormer.Profiling.CpuFeatures.Current.Bf16Warning() is { } warning) Console.Error.WriteLine(warning);
        return precision;
    }

    /// <summary>
    /// Two positive integers written <c>AxB</c> (e.g. <c>--scale 2048x512</c>, <c>--slide 512x341</c>); otherwise an
    /// <see cref="ArgumentException"/> naming <paramref name="option"/> and the expected <paramref name="format"/>.
    /// </summary>
    public static (int, int) Pair(string text, string option, string format, string example = "2048x512", int minimum = 1)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var a) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var b) || a <= 0 || b <= 0)
            throw new ArgumentException($"{option} must be {format} with positive integers (e.g. {example}), got '{text}'");
        if (a < minimum || b < minimum)
            throw new ArgumentException($"{option} {text}: both values must be at least {minimum}");
        return (a, b);
    }

    /// <summary>The smallest image side the models take (<see cref="BoostFormer.Training.Evaluation.SegmentationInference.MinimumInputSize"/>).</summary>
    public const int MinimumSize = BoostFormer.Training.Evaluation.SegmentationInference.MinimumInputSize;

    /// <summary>An integer of at least <paramref name="minimum"/>, else an <see cref="ArgumentException"/> naming <paramref name="option"/>.</summary>
    public static int AtLeast(int value, int minimum, string option, string? why = null) =>
        value >= minimum ? value : throw new ArgumentException($"{option} must be at least {minimum}{(why is null ? "" : $" ({why})")}, got {value}");

    /// <summary>A finite number (positive when <paramref name="positive"/>, else ≥ 0), else an <see cref="ArgumentException"/> naming <paramref name="option"/>.</summary>
    public static double Finite(double value, string option, bool positive)
    {
        if (!double.IsFinite(value) || (positive ? value <= 0 : value < 0))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{option} must be a finite number {(positive ? "> 0" : ">= 0")}, got {value}"));
        return value;
    }

    /// <summary>
    /// Checks before any work that a file can be created at <paramref name="path"/> (its folder made if needed, a probe
    /// file written and removed); otherwise an <see cref="ArgumentException"/> naming <paramref name="option"/>.
    /// </summary>
    public static void WritableFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{option} {path}: is a folder, not a file");
        WritableFolder(Path.GetDirectoryName(Path.GetFullPath(path))!, option, path);
    }

    /// <summary>Checks before any work that files can be written in <paramref name="folder"/> (created if needed); else an error naming <paramref name="option"/>.</summary>
    public static void WritableFolder(string folder, string option, string? shown = null)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, ".write-probe-" + Guid.NewGuid().ToString("N"));
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{option} {shown ?? folder}: cannot write there ({e.Message})");
        }
    }

    /// <summary>Applies <c>--max-pixels</c> (the decoder's decompression-bomb guard; null keeps the default or BOOSTFORMER_MAX_PIXELS).</summary>
    public static void MaxPixels(long? value)
    {
        if (value is not { } v) return;
        if (v < 0) throw new ArgumentException($"--max-pixels must be >= 0 (0 = no limit), got {v}");
        BoostFormer.IO.ImageCodec.MaxPixels = v;
    }

    /// <summary>The <c>--max-pixels</c> option of the verbs that decode images.</summary>
    public static System.CommandLine.Option<long?> MaxPixelsOption() => new("--max-pixels")
    {
        Description = $"Refuse images with more pixels than this (decompression-bomb guard; default {BoostFormer.IO.ImageCodec.DefaultMaxPixels:N0} as PIL, or $BOOSTFORMER_MAX_PIXELS; 0 = no limit)",
    };

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
