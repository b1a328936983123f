using System.Globalization;

namespace BoostFormer.Profiling;

/// <summary>An image size given as <c>HxW</c> (e.g. <c>512x512</c>) or a single number for a square.</summary>
public readonly record struct InputSize(int Height, int Width)
{
    /// <summary>Parses <c>512x512</c>, <c>512X640</c> or <c>512</c>; throws <see cref="ArgumentException"/> naming <paramref name="argName"/> otherwise.</summary>
    public static InputSize Parse(string text, string argName = "--input")
    {
        var parts = (text ?? "").Trim().ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
        {
            var h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return new InputSize(h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }
        throw new ArgumentException($"{argName} must be HxW with positive integers (e.g. 512x512), got '{text}'");
    }

    /// <summary>NCHW shape of a batch of RGB images of this size.</summary>
    public long[] Shape(int batch = 1, int channels = 3) => new long[] { batch, channels, Height, Width };

    /// <inheritdoc/>
    public override string ToString() => $"{Height}x{Width}";
}
