namespace BoostFormer.Lib.Tests;

/// <summary>
/// Tests that change libtorch's process-wide thread count (latency measurements with an explicit thread count) run
/// alone, after the parallel tests: a concurrent test would otherwise compute with another thread count, and blocked
/// kernels are not bit-identical across thread counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSettings
{
    public const string Name = "process-wide settings (thread count)";
}
