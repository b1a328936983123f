using static TorchSharp.torch;

namespace BoostFormer;

/// <summary>
/// Numeric precision of a model's computation. <see cref="Bf16"/> runs weights and activations in bfloat16 (8-bit
/// exponent like float32, 8-bit mantissa), which this CPU family executes natively through oneDNN (AVX512-BF16);
/// training in bf16 keeps float32 master weights and computes the loss in float32. <see cref="Fp64"/> is for numerical
/// checks, not speed: rounding noise drops by nine orders of magnitude, so two computations that are equal in exact
/// arithmetic (one process against several, one thread count against another) agree to ~1e-12 instead of ~1e-6.
/// </summary>
public enum Precision
{
    /// <summary>float32 everywhere.</summary>
    Fp32,
    /// <summary>bfloat16 weights and activations (float32 master weights and loss in training).</summary>
    Bf16,
    /// <summary>float64 weights, activations, loss and optimizer state (numerical checks; several times slower than fp32).</summary>
    Fp64,
}

/// <summary>Parsing and tensor types of <see cref="Precision"/>.</summary>
public static class PrecisionExtensions
{
    /// <summary>The tensor element type of the precision.</summary>
    public static ScalarType ScalarType(this Precision p) => p switch
    {
        Precision.Bf16 => TorchSharp.torch.ScalarType.BFloat16,
        Precision.Fp64 => TorchSharp.torch.ScalarType.Float64,
        _ => TorchSharp.torch.ScalarType.Float32,
    };

    /// <summary>
    /// Parses <c>fp32</c> / <c>bf16</c> (also <c>float32</c>, <c>bfloat16</c>) and, where <paramref name="allowFp64"/>,
    /// <c>fp64</c> / <c>float64</c>; throws naming <paramref name="option"/>.
    /// </summary>
    public static Precision Parse(string text, string option = "--precision", bool allowFp64 = false) => text.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" or "f32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        "fp64" or "float64" or "f64" when allowFp64 => Precision.Fp64,
        _ => throw new ArgumentException(allowFp64 ? $"{option}: expected fp32, bf16 or fp64, got '{text}'" : $"{option}: expected fp32 or bf16, got '{text}'"),
    };

    /// <summary>The short name (<c>fp32</c>, <c>bf16</c>, <c>fp64</c>).</summary>
    public static string Name(this Precision p) => p switch { Precision.Bf16 => "bf16", Precision.Fp64 => "fp64", _ => "fp32" };
}
