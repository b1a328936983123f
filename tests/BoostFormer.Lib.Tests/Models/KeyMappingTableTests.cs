using BoostFormer.IO;
using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>The NVlabs and mmseg naming tables: every rule read both ways, and every key of real models and checkpoints.</summary>
public class KeyMappingTableTests : IClassFixture<TorchCheckpointFiles>
{
    private readonly TorchCheckpointFiles _f;
    public KeyMappingTableTests(TorchCheckpointFiles files) { _f = files; }

    public static TheoryData<string> Namings => new() { "nvlabs", "mmseg" };

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    private static KeyNaming Naming(string name) => name == "nvlabs" ? SegformerKeyMapping.Nvlabs : SegformerKeyMapping.Mmseg;

    [Theory]
    [MemberData(nameof(Namings))]
    public void Every_rule_maps_its_keys_there_and_back(string naming)
    {
        var n = Naming(naming);
        foreach (var rule in n.Rules)
        {
            // A key of the rule's Hugging Face pattern (stage 2, layer 1, a parameter after a prefix).
            string Hf(string? part) => rule.HuggingFace.Replace("{i}", "2").Replace("{j}", "1")
                .Replace("{" + string.Join("|", rule.Parts) + "}", part ?? "") + (rule.HuggingFace.EndsWith('.') || rule.HuggingFace.EndsWith('_') ? "weight" : "");
            var hfKeys = rule.Parts.Count == 0 ? new[] { Hf(null) } : rule.Parts.Select(Hf).ToArray();
            n.MatchHuggingFace(hfKeys[0])!.Value.rule.Should().Be(rule, $"{hfKeys[0]} is this rule's key");
            var other = n.OtherKey(hfKeys[0])!;
            other.Should().NotContain("{").And.NotStartWith("segformer.");
            if (rule.IsEncoder) other.Should().StartWith(n.EncoderPrefix);
            n.MatchOther(other)!.Value.rule.Should().Be(rule, $"{other} comes back through the same rule");
            n.HuggingFaceKeys(other).Should().Equal(hfKeys);
        }
    }

    [Theory]
    [MemberData(nameof(Namings))]
    public void Stage_numbers_follow_each_naming(string naming)
    {
        var n = Naming(naming);
        var (block, norm, head) = naming == "nvlabs"
            ? ("backbone.block3.4.attn.q.weight", "backbone.norm4.bias", "decode_head.linear_c1.proj.bias")
            : ("backbone.layers.2.1.4.attn.attn.out_proj.weight", "backbone.layers.3.2.bias", "decode_head.convs.0.conv.bias");
        n.HuggingFaceKeys(block).Should().Equal(naming == "nvlabs" ? "segformer.encoder.block.2.4.attention.self.query.weight" : "segformer.encoder.block.2.4.attention.output.dense.weight");
        n.HuggingFaceKeys(norm).Should().Equal("segformer.encoder.layer_norm.3.bias");
        n.HuggingFaceKeys(head).Should().Equal("decode_head.linear_c.0.proj.bias");
        n.HuggingFaceKeys("head.weight").Should().BeNull("a classification head has no place in the table");
    }

    [Theory]
    [InlineData("segformer-b0", "nvlabs")]
    [InlineData("segformer-b0", "mmseg")]
    [InlineData("boostformer-b0", "nvlabs")]
    [InlineData("boostformer-b0", "mmseg")]
    public void Every_model_key_maps_there_and_back_unchanged(string name, string naming)
    {
        using var scope = NewDisposeScope();
        using var model = SegformerForSemanticSegmentation.FromName(name, 5);
        var sd = model.state_dict();
        var n = Naming(naming);
        if (name.StartsWith("segformer"))
            sd.Keys.Where(k => n.MatchHuggingFace(k) is null).Should().BeEmpty("every SegFormer key has a rule");
        var back = n.Import(n.Export(sd));
        back.Keys.Should().BeEquivalentTo(sd.Keys);
        foreach (var (k, t) in sd) Same(back[k], t).Should().BeTrue(k);
    }

    [Theory]
    [InlineData("nvlabs.pth", "nvlabs")]
    [InlineData("mmseg.pth", "mmseg")]
    public void Export_equals_the_checkpoints_python_wrote_in_that_naming(string file, string naming)
    {
        using var scope = NewDisposeScope();
        var hf = CheckpointImport.ReadStateDict(_f["pytorch_model.bin"]);
        var python = CheckpointImport.ReadStateDict(_f[file]);
        var ours = Naming(naming).Export(hf);
        ours.Keys.Should().BeEquivalentTo(python.Keys);
        foreach (var (k, t) in python) Same(ours[k], t).Should().BeTrue(k);
        var imported = Naming(naming).Import(python);
        imported.Keys.Should().BeEquivalentTo(hf.Keys);
        foreach (var (k, t) in hf) Same(imported[k], t).Should().BeTrue(k);
    }
}
