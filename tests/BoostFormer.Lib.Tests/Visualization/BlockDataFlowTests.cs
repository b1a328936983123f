using BoostFormer.Models;
using BoostFormer.Visualization;
using TorchSharp;

namespace BoostFormer.Lib.Tests.Visualization;

public class BlockDataFlowTests
{
    [Fact]
    public void Every_block_of_segformer_and_boostformer_has_a_flow_whose_modules_exist_and_cover_its_weights()
    {
        using var seg = SegformerForSemanticSegmentation.FromName("segformer-b0", numLabels: 11);
        using var boost = SegformerForSemanticSegmentation.FromName("boostformer-b0", numLabels: 11);
        var blocks = new List<torch.nn.Module>
        {
            seg.segformer.encoder.block[0][0], seg.segformer.encoder.patch_embeddings[1], seg.decode_head,
            seg.segformer.encoder.block[2][0].get_submodule("attention")!, seg.segformer.encoder.block[2][0].get_submodule("attention.self")!,
            seg.segformer.encoder.block[2][0].get_submodule("mlp")!, ((SegformerEfficientSelfAttention)seg.segformer.encoder.block[0][0].get_submodule("attention.self")!).key_value_reducer,
            seg.segformer.encoder.block[0][0].get_submodule("attention.self")!, seg.segformer.encoder.block[3][0].get_submodule("attention.self")!,
            boost.segformer.encoder.block[0][0], boost.segformer.encoder.block[2][0], boost.segformer.encoder.patch_embeddings[1], boost.decode_head,
            boost.segformer.encoder.block[2][0].get_submodule("attention")!, boost.segformer.encoder.block[2][0].get_submodule("mlp")!,
            ((SegformerEfficientSelfAttention)boost.segformer.encoder.block[2][0].get_submodule("attention.self")!).key_value_reducer,
            boost.segformer.encoder.block[2][0].get_submodule("attention.self")!,
        };
        foreach (var block in blocks)
        {
            var name = block.GetType().Name;
            var flow = BlockDataFlow.Of(block);
            flow.Should().NotBeNull($"{name} is drawn by data flow");
            var named = flow!.Where(s => s.Module is not null).ToList();
            foreach (var s in named) BlockDataFlow.Resolve(block, s.Module!).Should().NotBeNull($"{name}: '{s.Module}' exists");
            // every direct child and own parameter of the block appears in its flow (nothing of the forward pass is left out)
            var covered = named.SelectMany(s => s.Module!.Split('|')).Select(p => p.Split('.')[0]).ToHashSet();
            foreach (var (child, _) in block.named_children()) covered.Should().Contain(child, $"{name}.{child} is in the flow");
            foreach (var (p, _) in block.named_parameters(recurse: false)) covered.Should().Contain(p, $"{name}.{p} is in the flow");
            foreach (var s in flow!.Where(s => s.ResidualFrom is not null))
                s.ResidualFrom!.Value.Should().BeInRange(0, flow!.ToList().IndexOf(s) - 1, $"{name}: a residual adds an earlier step's input");
        }
    }

    [Fact]
    public void Zoo_modules_with_a_flow_name_existing_submodules_and_cover_their_weights()
    {
        var b0 = SegformerConfig.FromName("segformer-b0", 11);
        var blocks = new List<(torch.nn.Module Block, torch.nn.Module Owner)>();
        foreach (var m in new[] { ZooModule.Lsra, ZooModule.DestMixFfn, ZooModule.ShenEfficientAttention, ZooModule.DestAttention, ZooModule.Swin })
        {
            var model = new SegformerForSemanticSegmentation(m.Apply(b0));
            var layer = model.segformer.encoder.block[2][0];
            blocks.Add((m == ZooModule.DestMixFfn ? layer.get_submodule("mlp")! : layer.get_submodule("attention")!, model));
            if (m == ZooModule.Lsra) blocks.Add((layer.get_submodule("attention.self")!, model));
            if (m == ZooModule.ShenEfficientAttention) blocks.Add((layer.get_submodule("attention.self")!, model));
        }
        blocks.Select(b => b.Block.GetType().Name).Should().Contain(new[] { "DestMixFFN", "ShenEfficientAttention", "SegformerMixerAttention", "SegformerEfficientSelfAttention" });
        foreach (var (block, owner) in blocks)
        {
            var name = block.GetType().Name;
            var flow = BlockDataFlow.Of(block);
            flow.Should().NotBeNull($"{name} is drawn by data flow");
            var named = flow!.Where(s => s.Module is not null).ToList();
            var covered = named.SelectMany(s => s.Module!.Split('|')).Select(p => p.Split('.')[0]).ToHashSet();
            foreach (var (child, _) in block.named_children()) covered.Should().Contain(child, $"{name}.{child} is in the flow");
            foreach (var (p, _) in block.named_parameters(recurse: false)) covered.Should().Contain(p, $"{name}.{p} is in the flow");
            if (name != "SegformerMixerAttention")   // its output projection is optional (absent for Swin)
                foreach (var s in named) BlockDataFlow.Resolve(block, s.Module!).Should().NotBeNull($"{name}: '{s.Module}' exists");
            ModuleDiagram.Of(block, name).ToSvg().Should().NotContain("registration order", name);
        }
        foreach (var (_, owner) in blocks.DistinctBy(b => b.Owner)) owner.Dispose();
        var lsraFlow = BlockDataFlow.Of(blocks[0].Block.get_submodule("self")!)!;
        lsraFlow.Select(s => s.Label).Should().Contain("K/V source: adaptive AvgPool → 7×7", "the LSRA reducer is spliced into self-attention");
    }

    [Fact]
    public void The_diagram_draws_the_pooling_mixer_GELU_and_residual_adds_of_a_poolformer_layer()
    {
        using var boost = SegformerForSemanticSegmentation.FromName("boostformer-b0", numLabels: 11);
        var svg = System.Net.WebUtility.HtmlDecode(ModuleDiagram.Of(boost.segformer.encoder.block[0][0], "PoolFormer layer").ToSvg());
        svg.Should().Contain("token mixer: AvgPool3×3(x) − x").And.Contain("+ residual").And.Contain("channel MLP")
            .And.Contain("stroke=\"#b45309\"").And.NotContain("registration order");
        ModuleDiagram.Of(boost.segformer.encoder.block[2][0].get_submodule("mlp")!, "Mix-CFN").ToSvg().Should().Contain("GELU");
        ModuleDiagram.Of(torch.nn.Sequential(torch.nn.ReLU()), "other").ToSvg().Should().Contain("(registration order)");
    }
}
