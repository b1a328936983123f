using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;
using static BoostFormer.Lib.Tests.Models.ZooModelTests;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>The CNN baselines: ResNet-18 in torchvision's layout under the encoder, and the DeepLabV3+, PSPNet and U-Net heads.</summary>
public class CnnBaselineTests
{
    [Fact]
    public void Resnet18_encoder_has_torchvisions_keys_and_parameter_count()
    {
        using var m = SegformerForSemanticSegmentation.FromName("unet", 11);
        // torchvision resnet18: 11,689,512 parameters, of which the ImageNet classifier fc is 512·1000 + 1000
        m.segformer.parameter_count().Should().Be(11_689_512 - 513_000);
        var keys = m.segformer.state_dict().Keys.ToList();
        keys.Should().Contain(new[]
        {
            "encoder.conv1.weight", "encoder.bn1.running_var", "encoder.layer1.0.conv1.weight", "encoder.layer1.1.bn2.bias",
            "encoder.layer2.0.downsample.0.weight", "encoder.layer2.0.downsample.1.running_mean", "encoder.layer4.1.conv2.weight",
        });
        keys.Should().NotContain(k => k.Contains("patch_embeddings") || k.Contains("layer_norm") || k.Contains("layer1.0.downsample"));
    }

    [Fact]
    public void A_torchvision_state_dict_loads_into_the_encoder_and_gives_the_same_features()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var tv = new ResNet18Backbone();
        var sd = tv.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        using (no_grad()) foreach (var (k, v) in sd) if (v.is_floating_point()) v.copy_(randn_like(v) * 0.1 + (k.EndsWith("running_var") ? 1.0 : 0.0));
        sd["fc.weight"] = randn(1000, 512);
        sd["fc.bias"] = randn(1000);
        CheckpointImport.DetectNaming(sd.Keys).Should().Be("torchvision");
        using var m = SegformerForSemanticSegmentation.FromName("deeplabv3plus-r18", 7);
        var report = CheckpointImport.LoadStateDictInto(m, sd, strict: true);
        report.missing.Should().BeEmpty();
        report.initialized.Should().OnlyContain(k => k.StartsWith("decode_head.", StringComparison.Ordinal) || k.EndsWith("num_batches_tracked"));
        tv.eval(); m.eval();
        using var _ = no_grad();
        var x = randn(1, 3, 64, 64);
        var a = tv.call(x);
        using var enc = m.segformer.forward(x);
        // the D8 model dilates layer3/4 instead of striding them, so only layer1 and layer2 are the same function
        for (int i = 0; i < 2; i++) MaxAbs(enc.hidden_states[i], a[i]).Should().BeLessThan(1e-5);
        enc.hidden_states.Select(h => h.size(2)).Should().Equal(16L, 8L, 8L, 8L);
    }

    [Theory]
    [InlineData("deeplabv3plus-r18", 4)]
    [InlineData("pspnet-r18", 8)]
    [InlineData("unet", 4)]
    public void Cnn_baselines_give_logits_at_their_output_stride_and_train(string name, int stride)
    {
        using var m = SegformerForSemanticSegmentation.FromName(name, 5);
        m.decode_head.OutputStride.Should().Be(stride);
        m.train();
        using var x = randn(2, 3, 64, 96);
        using var labels = randint(0, 5, new long[] { 2, 64, 96 });
        using var o = m.forward(x, labels);
        o.logits.shape.Should().Equal(2, 5, 64 / stride, 96 / stride);
        o.loss!.backward();
        using var g = m.segformer.encoder.Resnet!.conv1.weight!.grad!.abs().sum();
        g.item<float>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void Cnn_head_parameter_counts_match_the_hand_derivation()
    {
        using var psp = SegformerForSemanticSegmentation.FromName("pspnet-r18", 150);
        // 4 × (512·128 + BN 256), bottleneck 3·3·(512 + 4·128)·128 + 256, conv_seg 128·150 + 150
        psp.decode_head.parameter_count().Should().Be(4 * (512 * 128 + 256) + 9 * 1024 * 128 + 256 + 128 * 150 + 150);
        using var unet = SegformerForSemanticSegmentation.FromName("unet", 150);
        long Block(long cin, long skip, long cout) => 9 * (cin + skip) * cout + 2 * cout + 9 * cout * cout + 2 * cout;
        unet.decode_head.parameter_count().Should().Be(Block(512, 256, 256) + Block(256, 128, 128) + Block(128, 64, 64) + 64 * 150 + 150);
    }
}
