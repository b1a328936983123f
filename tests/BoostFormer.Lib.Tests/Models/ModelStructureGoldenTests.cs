using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BoostFormer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// The model's structure, pinned: for each configuration the ordered state-dict keys with shapes, the ordered module
/// names and the ordered parameter names (optimizer state is stored by parameter index, and the seeded initialisation
/// draws in module order), and a fingerprint of seeded logits. Captured before the switches became module
/// substitutions; any refactoring of the model code must keep them.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class ModelStructureGoldenTests
{
    private static readonly SegformerConfig B0 = SegformerConfig.FromName("segformer-b0", 5);

    public static TheoryData<string> Names => new()
    {
        "segformer-b0", "boostformer-b0", "a", "b", "c", "d", "e", "f", "b+e-off", "no-stage-ln", "cls",
    };

    private static SegformerConfig Config(string name) => name switch
    {
        "segformer-b0" => B0,
        "boostformer-b0" => SegformerConfig.FromName("boostformer-b0", 5),
        "a" => B0 with { pooling_patch_embedding = true },
        "b" => B0 with { poolformer_blocks = true },
        "c" => B0 with { pooled_kv_attention = true },
        "d" => B0 with { remove_self_output = true },
        "e" => B0 with { mix_cfn = true },
        "f" => B0 with { weighted_sum_decoder = true },
        "b+e-off" => SegformerConfig.FromName("boostformer-b0", 5) with { mix_cfn = false },
        "no-stage-ln" => B0 with { encoder_layer_norm = false },
        "cls" => SegformerConfig.FromName("boostformer-b0", 7),
        _ => throw new ArgumentException(name),
    };

    private static string Hash(IEnumerable<string> lines) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines))))[..16];

    internal static string Fingerprint(string name)
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        nn.Module model = name == "cls" ? new SegformerForImageClassification(Config(name)) : new SegformerForSemanticSegmentation(Config(name));
        using var _m = model;
        var sd = Hash(model.state_dict().Select(kv => kv.Key + ":" + string.Join("x", kv.Value.shape)));
        var mods = Hash(model.named_modules().Select(kv => kv.name));
        var pars = Hash(model.named_parameters().Select(kv => kv.name));
        model.eval();
        manual_seed(1);
        var x = randn(1, 3, 64, 64);
        Tensor y;
        using (no_grad()) y = model is SegformerForSemanticSegmentation s ? s.call(x) : ((SegformerForImageClassification)model).call(x);
        var sum = y.to(ScalarType.Float64).sum().item<double>();
        var abs = y.to(ScalarType.Float64).abs().sum().item<double>();
        return $"{sd} {mods} {pars} {sum.ToString("E6", CultureInfo.InvariantCulture)} {abs.ToString("E6", CultureInfo.InvariantCulture)}";
    }

    private static readonly Dictionary<string, string> Expected = new()
    {
        ["segformer-b0"] = "2CF378F65032942E 1DA1D56BD6C08077 C61A3D7C47632EC4 -1.447711E+001 2.900063E+001",
        ["boostformer-b0"] = "DF86D5BC3F87F01A 4879B9ABC228BFD8 8AD479276F162400 4.624687E-002 9.143389E+001",
        ["a"] = "5934CCE33E5618E2 9ECA6F602441314D E31C344FC27E01E3 -1.124087E+001 2.352363E+001",
        ["b"] = "F89B0F1587647651 7BBC908B01644AB5 7142B806B3A43E3A -5.976263E+000 2.163027E+001",
        ["c"] = "2D55BE109DF0F725 A5AF4C9C216500B1 B8699E2FEFB05162 -1.028453E+001 2.281079E+001",
        ["d"] = "B71CE9B81A1D1BA2 7F11D7F2333CEDED 124548EDBCFA4073 -2.619606E+000 2.816221E+001",
        ["e"] = "62FBECCEC0FF4614 30E67FDC2F9B3235 A2B6D33C822CC1D0 -7.293141E-001 2.084618E+001",
        ["f"] = "A67B849795A640E9 86C243232E027B6C 7AD14ACA2210824F -6.421023E+001 9.314202E+001",
        ["b+e-off"] = "D76824A854BBB40F C249382F9DDC876C 8AC380F2B5B8E744 2.782449E+001 7.358871E+001",
        ["no-stage-ln"] = "EA41FBF73734122D C83BF9E7698CC03D F0C8AE2C81105F64 -1.468794E+001 2.915785E+001",
        ["cls"] = "8468AA6484FDEACB 8786E5E78455BA2F BBA7B556742E9D3C -1.086102E+000 2.152209E+000",
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Structure_and_seeded_output_are_unchanged(string name)
    {
        var actual = Fingerprint(name).Split(' ');
        Expected.Should().ContainKey(name);
        var expected = Expected[name].Split(' ');
        // Structure exactly; the seeded logits' sum and absolute sum to 1e-6 of the absolute sum: the engine optimisations
        // (channels-last maps, the folded decoder and BatchNorm; EngineOptimizationTests holds each to ≤ 1e-5 of the graph
        // as written) reorder floating-point sums, which the seventh printed digit would see.
        actual.Take(3).Should().Equal(expected.Take(3), "state-dict keys and shapes, module names and parameter names");
        double Value(string[] f, int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        var scale = Value(expected, 4);
        Value(actual, 3).Should().BeApproximately(Value(expected, 3), 1e-6 * scale, "the sum of the seeded logits");
        Value(actual, 4).Should().BeApproximately(Value(expected, 4), 1e-6 * scale, "the absolute sum of the seeded logits");
    }
    /// <summary>The exported NVlabs and mmseg state dicts (keys and shapes, in order) and their import back, pinned the same way.</summary>
    [Theory]
    [InlineData("segformer-b0", "nvlabs", "1322AFA3CC38A480 6832DC7F5BD481C3")]
    [InlineData("segformer-b0", "mmseg", "20A7741B4FA15673 94104E80E80C357B")]
    [InlineData("boostformer-b0", "nvlabs", "F82828824AAA4487 07ACAF9FB9F9B730")]
    [InlineData("boostformer-b0", "mmseg", "65B557E4FB3D64EB A08831CDEA1CE3DF")]
    [InlineData("cls", "nvlabs", "8F93271B010E72A2 1C39C0B7F7581041")]
    public void Key_mapping_output_is_unchanged(string name, string naming, string expected)
    {
        using var scope = NewDisposeScope();
        nn.Module model = name == "cls" ? new SegformerForImageClassification(Config(name)) : new SegformerForSemanticSegmentation(Config(name));
        using var _m = model;
        var sd = model.state_dict();
        var exported = naming == "nvlabs" ? SegformerKeyMapping.ToNvlabs(sd) : SegformerKeyMapping.ToMmseg(sd);
        var back = naming == "nvlabs" ? SegformerKeyMapping.FromNvlabs(exported) : SegformerKeyMapping.FromMmseg(exported);
        var actual = Hash(exported.Select(kv => kv.Key + ":" + string.Join("x", kv.Value.shape))) + " " + Hash(back.Select(kv => kv.Key + ":" + string.Join("x", kv.Value.shape)));
        actual.Should().Be(expected);
    }
    /// <summary>The per-module profile (paths, parameters, MACs by kind, other-op counts) is pinned too.</summary>
    [Theory]
    [InlineData("segformer-b0", "295C42BBF6EB4178")]
    [InlineData("boostformer-b0", "3BE950DE6D9AA5B9")]
    [InlineData("b+e-off", "0473F3470CA3BFD9")]
    public void Per_module_profile_is_unchanged(string name, string expected)
    {
        var r = BoostFormer.Profiling.SegformerProfiling.Profile(Config(name), new BoostFormer.Profiling.InputSize(64, 64));
        var actual = Hash(r.Modules.Select(m => $"{m.Path}:{m.Params}:{m.Counts.Macs(BoostFormer.Profiling.MacKind.Conv)}:{m.Counts.Macs(BoostFormer.Profiling.MacKind.Linear)}:" +
                                                 $"{m.Counts.Macs(BoostFormer.Profiling.MacKind.Attention)}:" + string.Join(",", m.Counts.Other.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"))));
        actual.Should().Be(expected);
    }
}
