namespace BoostFormer.Torch.Tests;

/// <summary>Tests that measure process RSS run alone, so other tests' allocations don't blur the figures.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurement
{
    public const string Name = "memory measurement";
}
