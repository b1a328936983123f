namespace BoostFormer.Torch.Tests;

/// <summary>Tests that measure process RSS run alone, so other tests' allocations don't blur the figures.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurement
{
    public const string Name = "memory measurement";
}

/// <summary>
/// Tests that change process-wide engine settings (the intra-op thread count) run alone: a concurrent test could
/// otherwise compute with another thread count, and blocked kernels do not give bit-identical results across counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSettings
{
    public const string Name = "process-wide settings";
}
