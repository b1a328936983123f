using BoostFormer;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Visualization;

/// <summary>How an attention map is turned into colours.</summary>
public enum AttentionColourScale
{
    /// <summary>Min–max per map: the map's least-attended key dark, its most-attended yellow. Shows preferences even in a nearly uniform map — and exaggerates them.</summary>
    PerMap,
    /// <summary>
    /// Absolute: log2 of each key's weight relative to uniform attention (1/keys), from 1/8× (dark) through 1× (the
    /// middle of the colour map) to 8× (yellow), the same for every map; a uniform map is one flat middle colour.
    /// </summary>
    RelativeToUniform,
}

/// <summary>Colour scaling of attention maps (<see cref="AttentionColourScale"/>).</summary>
public static class AttentionColour
{
    /// <summary>The <see cref="AttentionColourScale.RelativeToUniform"/> range in powers of two either side of uniform (3: 1/8× … 8×).</summary>
    public const double Log2Range = 3;

    /// <summary>
    /// <paramref name="map"/> (attention probabilities over <paramref name="keys"/> keys, any shape) mapped to [0, 1] for a
    /// colour map under <paramref name="scale"/>. A new tensor, float32.
    /// </summary>
    public static Tensor Normalise(Tensor map, long keys, AttentionColourScale scale)
    {
        if (keys < 1) throw new ArgumentOutOfRangeException(nameof(keys), keys, "an attention map needs at least one key");
        using var scope = NewDisposeScope();
        var m = map.detach().to(ScalarType.Float32);
        Tensor v;
        // Scalars rooted for the whole native call (TorchSharp passes implicit Scalar temporaries by handle only).
        if (scale == AttentionColourScale.RelativeToUniform)
        {
            using var k = Scalars.Temporary(keys);
            using var floor = Scalars.Temporary(1e-12);
            using var shift = Scalars.Temporary(Log2Range);
            using var span = Scalars.Temporary(2 * Log2Range);
            v = m.mul(k).clamp_min(floor).log2().add(shift, Scalars.One).div(span).clamp(Scalars.Zero, Scalars.One);
        }
        else
        {
            float lo = m.min().item<float>(), hi = m.max().item<float>();
            using var loS = Scalars.Temporary(lo);
            using var rangeS = Scalars.Temporary(hi - lo);
            using var half = Scalars.Temporary(0.5);
            v = hi > lo ? m.sub(loS).div(rangeS) : zeros_like(m).add(half, Scalars.One);
        }
        return v.MoveToOuterDisposeScope();
    }

    /// <summary>The smallest and largest weight of <paramref name="map"/> as multiples of uniform attention (1/<paramref name="keys"/>).</summary>
    public static (double Min, double Max) UniformRatios(Tensor map, long keys)
    {
        using var scope = NewDisposeScope();
        var m = map.detach().to(ScalarType.Float32);
        return (m.min().item<float>() * (double)keys, m.max().item<float>() * (double)keys);
    }

    /// <summary>The caption suffix that says how a map is scaled, e.g. <c>"0.6–2.1× uniform, min–max colours"</c>.</summary>
    public static string Describe(Tensor map, long keys, AttentionColourScale scale)
    {
        var (lo, hi) = UniformRatios(map, keys);
        return $"{lo:0.0#}–{hi:0.0#}× uniform, " + (scale == AttentionColourScale.PerMap ? "min–max colours" : "absolute colours");
    }
}
