using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests.Optim;

/// <summary>The training checkpoint stores torch.get_rng_state(); restoring it must reproduce the random stream exactly.</summary>
[Collection(OptimSerialCollection.Name)]
public class OptimRngStateTests
{
    [Fact]
    public void RestoringTheRngStateReproducesRandnExactly()
    {
        manual_seed(1234);
        using var warm = randn(7); // advance the generator away from the seed
        using var state = get_rng_state();
        state.dtype.Should().Be(ScalarType.Byte);
        using var first = randn(3, 5);
        using var firstU = rand(4);
        using var more = randn(1000); // move on, then go back
        set_rng_state(state);
        using var again = randn(3, 5);
        using var againU = rand(4);
        again.ToArray<float>().Should().Equal(first.ToArray<float>());
        againU.ToArray<float>().Should().Equal(firstU.ToArray<float>());
        // The saved state is a snapshot: drawing after get_rng_state did not change it.
        set_rng_state(state);
        using var third = randn(3, 5);
        third.ToArray<float>().Should().Equal(first.ToArray<float>());
        // It survives a round trip through a plain byte array (as in a checkpoint file).
        var bytes = state.ToArray<byte>();
        using var copy = tensor(bytes);
        set_rng_state(copy);
        using var fourth = randn(3, 5);
        fourth.ToArray<float>().Should().Equal(first.ToArray<float>());
        using var other = randn(3, 5);
        other.ToArray<float>().Should().NotEqual(first.ToArray<float>());
    }
}
