using static TorchSharp.torch;

namespace BoostFormer;

/// <summary>
/// Numeric precision of a model's computation. <see cref="Bf16"/> runs weights and activations in bfloat16 (8-bit
/// exponent like float32, 8-bit mantissa), which this CPU family executes natively through oneDNN (AVX512-BF16);
/// training in bf16 keeps float32 master weights and computes the loss in float32.
/// </summary>
public enum Precision
{
    /// <summary>float32 everywhere.</summary>
    Fp32,
    /// <summary>bfloat16 weights and activations (float32 master weights and loss in training).</summary>
    Bf16,
}

/// <summary>Parsing and tensor types of <see cref="Precision"/>.</summary>
public static class PrecisionExtensions
{
    /// <summary>The tensor element type of the precision.</summary>
    public static ScalarType ScalarType(this Precision p) => p == Precision.Bf16 ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32;

    /// <summary>Parses <c>fp32</c> / <c>bf16</c> (also <c>float32</c>, <c>bfloat16</c>); throws naming <paramref name="option"/>.</summary>
    public static Precision Parse(string text, string option = "--precision") => text.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" or "f32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        _ => throw new ArgumentException($"{option}: expected fp32 or bf16, got '{text}'"),
    };

    /// <summary>The short name (<c>fp32</c>, <c>bf16</c>).</summary>
    public static string Name(this Precision p) => p == Precision.Bf16 ? "bf16" : "fp32";
}
