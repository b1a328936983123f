using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer;

/// <summary>
/// Scalars that stay alive for as long as LibTorch reads them. TorchSharp 0.107 turns numbers into <see cref="Scalar"/>
/// temporaries implicitly (e.g. the <c>alpha = 1</c> of <c>Tensor.add(Tensor)</c>, <c>x * 0.5</c>) and passes them to
/// native code by handle only; a Scalar has a finalizer, so when another thread allocates during that native call
/// (a data-loader worker, a progress display) the GC may free the Scalar while LibTorch is reading it, and the call fails
/// ("Expected false to be true … toFloat") or reads garbage. The library therefore never converts a number to a Scalar
/// implicitly: constants come from <see cref="Of"/> (made once, rooted for the life of the process) and values that
/// change every step from <see cref="Temporary"/> with a <c>using</c> that outlives the call. A test reads the
/// library's IL and fails on any implicit conversion or any call to a TorchSharp method that makes one internally.
/// </summary>
public static class Scalars
{
    private static readonly ConcurrentDictionary<(double, ScalarType), Scalar> Cache = new();

    /// <summary>1, e.g. the <c>alpha</c> of an addition.</summary>
    public static Scalar One { get; } = Of(1.0);

    /// <summary>0.</summary>
    public static Scalar Zero { get; } = Of(0.0);

    /// <summary>−1, e.g. the <c>alpha</c> of a subtraction.</summary>
    public static Scalar MinusOne { get; } = Of(-1.0);

    /// <summary>A rooted Scalar for a constant (made once per value; never freed). Use it for values from a fixed set
    /// (scales, epsilons, coefficients), not for values that change every step (use <see cref="Temporary"/>).</summary>
    public static Scalar Of(double value) => Cache.GetOrAdd((value, ScalarType.Float64), static k => k.Item1.ToScalar());

    /// <summary>A rooted integer Scalar (e.g. a fill value for a label tensor).</summary>
    public static Scalar OfInt(long value) => Cache.GetOrAdd((value, ScalarType.Int64), static k => ((long)k.Item1).ToScalar());

    /// <summary>A Scalar the caller owns: keep it in a <c>using</c> that ends after the native call that reads it.</summary>
    public static Scalar Temporary(double value) => value.ToScalar();
}
