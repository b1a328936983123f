namespace BoostFormer.Lib.Tests;

/// <summary>
/// Tests whose results depend on libtorch's global generator (determinism, exact-resume equivalence, overfitting): they run alone,
/// after the parallel tests, so no other test draws from the generator in between.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "global torch RNG (not parallel)";
}
