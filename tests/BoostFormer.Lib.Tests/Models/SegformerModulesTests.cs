using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>Each switch substitutes one module at one point (<see cref="SegformerModules"/>).</summary>
public class SegformerModulesTests
{
    [Fact]
    public void Segformer_and_boostformer_pick_their_modules_at_every_substitution_point()
    {
        using var seg = SegformerForSemanticSegmentation.FromName("segformer-b0", 5);
        using var boost = SegformerForSemanticSegmentation.FromName("boostformer-b0", 5);
        seg.segformer.encoder.patch_embeddings.Should().AllBeOfType<SegformerOverlapPatchEmbeddings>();
        boost.segformer.encoder.patch_embeddings.Should().AllBeOfType<BoostformerPoolingPatchEmbeddings>();

        var segLayers = seg.segformer.encoder.block.Select(stage => stage[0]).ToArray();
        segLayers.Should().AllBeOfType<SegformerLayer>();
        segLayers.Select(l => l.SelfAttention!.key_value_reducer.GetType()).Should().Equal(
            typeof(SegformerSequenceReduction), typeof(SegformerSequenceReduction), typeof(SegformerSequenceReduction), typeof(SegformerNoReduction));
        segLayers.Select(l => ((SegformerLayer)l).mlp).Should().AllBeOfType<SegformerMixFFN>();
        segLayers.Select(l => ((SegformerLayer)l).attention).Should().AllBeOfType<SegformerAttention>();
        seg.decode_head.Should().BeOfType<SegformerDecodeHead>();

        var boostLayers = boost.segformer.encoder.block.Select(stage => stage[0]).ToArray();
        boostLayers.Select(l => l.GetType()).Should().Equal(
            typeof(BoostformerPoolFormerLayer), typeof(BoostformerPoolFormerLayer), typeof(BoostformerLayer), typeof(BoostformerLayer));
        boostLayers.Take(2).Should().OnlyContain(l => l.SelfAttention == null);
        boostLayers.Skip(2).Select(l => l.SelfAttention!.key_value_reducer).Should().AllBeOfType<BoostformerKeyValuePooling>();
        boostLayers.Skip(2).Select(l => ((BoostformerLayer)l).attention).Should().AllBeOfType<BoostformerAttention>();
        boostLayers.Take(2).Select(l => ((BoostformerPoolFormerLayer)l).mlp).Should().AllBeOfType<BoostformerMixCFN>();
        boostLayers.Skip(2).Select(l => ((BoostformerLayer)l).mlp).Should().AllBeOfType<BoostformerMixCFN>();
        boost.decode_head.Should().BeOfType<BoostformerWeightedSumDecodeHead>();

        using var convFfn = new SegformerForSemanticSegmentation(SegformerConfig.FromName("boostformer-b0", 5) with { mix_cfn = false });
        ((BoostformerPoolFormerLayer)convFfn.segformer.encoder.block[0][0]).mlp.Should().BeOfType<BoostformerConvMixFFN>();
        ((BoostformerLayer)convFfn.segformer.encoder.block[2][0]).mlp.Should().BeOfType<SegformerMixFFN>();
    }

    [Fact]
    public void Key_value_reducers_register_under_the_attention_and_follow_its_mode()
    {
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0", 5);
        var sr = model.segformer.encoder.block[0][0].SelfAttention!;
        model.named_modules().Select(kv => kv.name).Should().NotContain(n => n.Contains("key_value_reducer"));
        sr.named_children().Select(kv => kv.name).Should().Equal("query", "key", "value", "dropout", "sr", "layer_norm");
        var reducer = (SegformerSequenceReduction)sr.key_value_reducer;
        sr.get_submodule("sr").Should().BeSameAs(reducer.sr);
        model.eval();
        reducer.training.Should().BeFalse();
        model.train();
        reducer.training.Should().BeTrue();

        sr.KeyValueGrid(16, 16).Should().Be((2L, 2L));                                              // R = 8
        model.segformer.encoder.block[3][0].SelfAttention!.KeyValueGrid(16, 12).Should().Be((16L, 12L)); // R = 1
        using var pooled = new BoostformerKeyValuePooling(32, 7);
        pooled.OutputGrid(16, 12).Should().Be((7L, 7L));
        using var x = randn(2, 16 * 12, 32);
        using var y = pooled.call(x, 16, 12);
        y.shape.Should().Equal(2, 49, 32);
        FluentActions.Invoking(() => new SegformerSequenceReduction(32, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new SegformerForSemanticSegmentation(SegformerConfig.FromName("boostformer-b0") with { kv_pool_size = 0 }))
            .Should().Throw<ArgumentException>().WithMessage("*kv_pool_size*");
    }

    [Fact]
    public void Map_mlps_take_tokens_and_compute_on_their_map()
    {
        manual_seed(3);
        using var scope = NewDisposeScope();
        using var mlp = new BoostformerConvMixFFN(16, 32);
        SegformerMlpBase asMlp = mlp;
        var tokens = randn(1, 6 * 5, 16);
        var y = asMlp.call(tokens, 6, 5);
        var map = SegformerLayout.ToNCHW(tokens, 6, 5);
        var expected = SegformerLayout.ToSequence(mlp.conv2.call(mlp.act.call(mlp.dwconv.call(mlp.conv1.call(map)))));
        y.shape.Should().Equal(1, 30, 16);
        (y - expected).abs().max().item<float>().Should().Be(0f);
    }
}
