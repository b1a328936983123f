using BoostFormer.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Visualization;

public class AttentionColourTests
{
    [Fact]
    public void Uniform_attention_is_the_middle_colour_on_the_absolute_scale_and_ratios_say_so()
    {
        using var scope = NewDisposeScope();
        var uniform = full(new long[] { 4, 4 }, 1f / 16);
        AttentionColour.Normalise(uniform, 16, AttentionColourScale.RelativeToUniform).allclose(full(new long[] { 4, 4 }, 0.5f)).Should().BeTrue();
        AttentionColour.UniformRatios(uniform, 16).Should().Be((1.0, 1.0));
        var peaked = tensor(new float[] { 8f / 16, 2f / 16, 0.5f / 16, 5.5f / 16 });
        var abs = AttentionColour.Normalise(peaked, 4 * 4, AttentionColourScale.RelativeToUniform).ToArray<float>();
        abs[0].Should().BeApproximately(1f, 1e-5f, "8× uniform is the top of the scale");
        abs[1].Should().BeApproximately(4f / 6, 1e-5f, "2× uniform is one power of two above the middle");
        abs[2].Should().BeApproximately(2f / 6, 1e-5f);
        var rel = AttentionColour.Normalise(peaked, 16, AttentionColourScale.PerMap).ToArray<float>();
        (rel.Min(), rel.Max()).Should().Be((0f, 1f));
        AttentionColour.Describe(peaked, 16, AttentionColourScale.PerMap).Should().Be("0.5–8.0× uniform, min–max colours");
    }
}
