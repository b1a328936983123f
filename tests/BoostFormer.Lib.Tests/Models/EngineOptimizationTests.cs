using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// The engine-level optimisations (fused scaled-dot-product attention, the folded decoder, channels-last maps) change how
/// the logits are computed, never what they are: each is compared with the Hugging Face graph as written, and each can be
/// switched off.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class EngineOptimizationTests
{
    private static (Tensor optimized, Tensor naive) BothWays(SegformerConfig config, int side, bool sdpa, bool fused, bool channelsLast = false)
    {
        manual_seed(3);
        using var model = new SegformerForSemanticSegmentation(config);
        // give BatchNorm non-trivial statistics so the folded path is exercised with a real affine map
        using (no_grad())
        {
            foreach (var bn in model.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
            {
                bn.running_mean!.normal_(0, 0.1);
                bn.running_var!.uniform_(0.5, 1.5);
            }
            (model.decode_head as BoostformerWeightedSumDecodeHead)?.weights.uniform_(0.5, 1.5);   // the weighted-sum decoder's stage weights (switch f)
        }
        model.eval();
        using var x = randn(1, 3, side, side);
        using var inference = inference_mode();
        // the same generator state for both passes: the NMF decoders (HamBurger) draw random bases in every forward
        manual_seed(17);
        var optimized = model.SetOptimizations(sdpa, fused, channelsLast).call(x).detach().clone();
        manual_seed(17);
        var naive = model.SetOptimizations(false, false, false).call(x).detach().clone();
        return (optimized, naive);
    }

    [Theory]
    [InlineData("segformer-b0")]
    [InlineData("segformer-b1")]
    [InlineData("segformer-b2")]
    [InlineData("segformer-b3")]
    [InlineData("segformer-b4")]
    [InlineData("segformer-b5")]
    [InlineData("boostformer-b0")]
    [InlineData("boostformer-b2")]
    public void Fused_decoder_logits_equal_the_unfused_ones(string name)
    {
        var (fused, plain) = BothWays(SegformerConfig.FromName(name, 19), 128, sdpa: false, fused: true);
        using (fused) using (plain)
        {
            var diff = (fused - plain).abs().max().item<float>();
            diff.Should().BeLessThan(1e-5f, $"{name}: the folded decoder must not change the logits");
        }
    }

    /// <summary>
    /// At 448² and 512² the folded tail runs in channel blocks (<see cref="SegformerDecodeHeadBase.FoldedTailBlockBytes"/>:
    /// 167 + 89 channels of B0's 256 at 112², 128 + 128 at 128²): each block's classifier share summed into the logits
    /// gives the unfolded logits.
    /// </summary>
    [Theory]
    [InlineData("segformer-b0", 512, 2)]
    [InlineData("boostformer-b0", 448, 2)]
    public void Folded_tail_in_channel_blocks_gives_the_unfolded_logits(string name, int side, int blocks)
    {
        var config = SegformerConfig.FromName(name, 19);
        long perChannel = (side / 4) * (side / 4) * sizeof(float);
        long block = SegformerDecodeHeadBase.FoldedTailBlockBytes / perChannel;
        ((config.decoder_hidden_size + block - 1) / block).Should().Be(blocks, "the case must exercise more than one block");
        var (fused, plain) = BothWays(config, side, sdpa: false, fused: true);
        using (fused) using (plain)
        {
            var diff = (fused - plain).abs().max().item<float>();
            diff.Should().BeLessThan(1e-5f, $"{name} at {side}²: the blocked tail must not change the logits");
        }
    }

    /// <summary>
    /// Channels-last maps (the view of a token sequence with exact NHWC strides, BatchNorm at inference without the NCHW
    /// copy) against the NCHW graph, for every encoder and decoder variant the zoo registers: logits within 1e-5, and the
    /// optimised path really is channels-last inside (a depthwise conv input has unit channel stride).
    /// </summary>
    [Theory]
    [InlineData("segformer-b0")]
    [InlineData("segformer-b2")]
    [InlineData("boostformer-b0")]
    [InlineData("boostformer-b2")]
    public void Channels_last_logits_equal_the_nchw_ones(string name)
    {
        var (cl, nchw) = BothWays(SegformerConfig.FromName(name, 19), 128, sdpa: false, fused: false, channelsLast: true);
        using (cl) using (nchw)
        {
            cl.is_contiguous().Should().BeTrue("the model hands back NCHW-contiguous logits on every path");
            var diff = (cl - nchw).abs().max().item<float>();
            diff.Should().BeLessThan(1e-5f, $"{name}: channels-last maps must not change the logits");
        }
    }

    [Theory]
    [MemberData(nameof(ZooVariants))]
    public void Channels_last_logits_equal_the_nchw_ones_for_every_zoo_variant(string variant)
    {
        var config = ZooConfig(variant);
        var (cl, nchw) = BothWays(config, 64, sdpa: true, fused: true, channelsLast: true);
        using (cl) using (nchw)
        {
            var scale = Math.Max(1f, nchw.abs().max().item<float>());
            var diff = (cl - nchw).abs().max().item<float>();
            diff.Should().BeLessThan(1e-4f * scale, $"{variant}: all optimisations on against the graph as written");
        }
    }

    public static TheoryData<string> ZooVariants() => new(ZooModule.All.Select(m => m.Tag));

    private static SegformerConfig ZooConfig(string tag)
    {
        var config = ZooModule.All.Single(m => m.Tag == tag).Apply(SegformerConfig.FromName("segformer-b0", 7));
        return config with { depths = config.depths.Select(d => Math.Min(d, 2)).ToArray(), drop_path_rate = 0 };
    }

    [Fact]
    public void Channels_last_inference_really_runs_channels_last_and_training_does_not()
    {
        manual_seed(1);
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromName("boostformer-b0", 5));
        var conv = model.modules().OfType<BoostformerMixConv>().First().conv_3;
        var unitChannelStride = new List<bool>();
        var hook = conv.register_forward_hook((m, input, output) => { unitChannelStride.Add(input.stride(1) == 1 && input.stride(0) == input.shape[1] * input.shape[2] * input.shape[3] * 2); return output; });
        using var x = randn(1, 3, 64, 64);
        // the folds off (fusedDecoder: false), so the Mix-CFN's own depthwise conv module runs and the hook sees it
        model.SetOptimizations(true, false, channelsLast: true).eval();
        using (inference_mode()) model.call(x).Dispose();
        model.SetOptimizations(true, false, channelsLast: false);
        using (inference_mode()) model.call(x).Dispose();
        model.SetOptimizations(true, false, channelsLast: true).train();
        model.call(x).Dispose();
        hook.remove();
        unitChannelStride.Should().Equal(true, false, false);
    }

    [Theory]
    [InlineData("segformer-b0")]
    [InlineData("segformer-b2")]
    [InlineData("boostformer-b0")]
    public void Sdpa_logits_equal_the_explicit_attention(string name)
    {
        var (sdpa, plain) = BothWays(SegformerConfig.FromName(name, 19), 128, sdpa: true, fused: false);
        using (sdpa) using (plain)
        {
            var scale = plain.abs().max().item<float>();
            var diff = (sdpa - plain).abs().max().item<float>();
            diff.Should().BeLessThan(1e-4f * Math.Max(1f, scale), $"{name}: scaled_dot_product_attention must compute the same attention");
        }
    }

    [Fact]
    public void Sdpa_gradients_equal_the_explicit_attention()
    {
        Tensor Grad(bool sdpa)
        {
            manual_seed(5);
            using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromName("segformer-b0", 5) with { drop_path_rate = 0 });
            model.SetOptimizations(sdpa, fusedDecoder: false).train();
            using var x = randn(2, 3, 64, 64);
            using var loss = model.call(x).pow(2).mean();
            loss.backward();
            return model.segformer.encoder.block[0][0].get_parameter("attention.self.query.weight")!.grad!.detach().clone();
        }
        using var a = Grad(true);
        using var b = Grad(false);
        var rel = ((a - b).abs().max() / b.abs().max()).item<float>();
        rel.Should().BeLessThan(1e-4f);
    }

    [Fact]
    public void Optimisations_are_off_when_attention_maps_are_asked_for_and_can_be_switched_off()
    {
        manual_seed(0);
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromName("segformer-b0", 5));
        model.SetOptimizations(false, false);
        model.modules().OfType<SegformerEfficientSelfAttention>().Should().OnlyContain(m => !m.use_sdpa);
        model.decode_head.fused_inference.Should().BeFalse();
        model.SetOptimizations(true, true);
        model.eval();
        using var x = randn(1, 3, 64, 64);
        using var inference = inference_mode();
        using var output = model.segformer.encoder.forward(x, output_attentions: true);
        output.attentions!.Should().OnlyContain(a => !ReferenceEquals(a, null), "the explicit path still returns the probabilities");
    }

    [Theory]
    [InlineData("segformer-b0")]
    [InlineData("boostformer-b0")]
    public void Bf16_logits_stay_close_to_fp32(string name)
    {
        // bfloat16 keeps 8 mantissa bits (relative rounding 2^-9 ≈ 0.2 %); through ~20 layers the logits drift by a few
        // percent of their spread, and the per-pixel decision rarely changes. Stated tolerance: mean |Δ| ≤ 3 % of the fp32
        // logits' standard deviation, and ≥ 97 % of pixels keep their argmax.
        manual_seed(11);
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromName(name, 11));
        model.eval();
        using var x = randn(1, 3, 128, 128);
        using var inference = inference_mode();
        using var fp32 = model.call(x).detach().clone();
        model.to(ScalarType.BFloat16);
        using var xb = x.to(ScalarType.BFloat16);
        using var bf16 = model.call(xb).to(ScalarType.Float32);
        bf16.dtype.Should().Be(ScalarType.Float32);
        var spread = fp32.std().item<float>();
        using var diff = (bf16 - fp32).abs();
        var meanRel = diff.mean().item<float>() / spread;
        var agree = fp32.argmax(1).eq(bf16.argmax(1)).to(ScalarType.Float32).mean().item<float>();
        meanRel.Should().BeLessThan(0.03f, $"{name}: mean |bf16 − fp32| relative to the logits' spread");
        agree.Should().BeGreaterThan(0.97f, $"{name}: share of pixels whose class does not change in bf16");
    }
}
