using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// Splits a model's trainable parameters into the groups of the SegFormer recipe (mmseg <c>paramwise_cfg</c>): no weight
/// decay for normalisation weights, biases, layer scales and the decoder's per-stage weights (every parameter with at
/// most one dimension, plus names containing <c>norm</c> or <c>layer_scale</c>, and XCiT's attention <c>temperature</c> and
/// Swin's <c>relative_position_bias_table</c>, which their references exclude by name), and the learning rate multiplied by
/// <c>headLrMultiplier</c> for the heads (names containing <c>head</c>, e.g. <c>decode_head.*</c>, <c>auxiliary_head.*</c>).
/// Empty groups are dropped. Frozen parameters (requires_grad = false) are left out.
/// </summary>
public static class ParameterGrouping
{
    /// <summary>True for parameters that get no weight decay.</summary>
    public static bool IsNoDecay(string name, Tensor p) =>
        p.dim() <= 1 || name.EndsWith(".bias", StringComparison.Ordinal) || name == "bias" ||
        name.Contains("norm", StringComparison.Ordinal) || name.Contains("layer_scale", StringComparison.Ordinal) ||
        name.EndsWith("temperature", StringComparison.Ordinal) || name.EndsWith("relative_position_bias_table", StringComparison.Ordinal);

    /// <summary>True for head parameters (learning rate × multiplier).</summary>
    public static bool IsHead(string name) => name.Contains("head", StringComparison.Ordinal) || name.StartsWith("classifier", StringComparison.Ordinal);

    /// <summary>The four groups (backbone/head × decay/no decay), without empty ones.</summary>
    public static List<NamedParamGroup> SegformerGroups(IEnumerable<(string name, Parameter parameter)> parameters, double lr, double weightDecay, double headLrMultiplier = 10)
    {
        var buckets = new Dictionary<(bool head, bool noDecay), List<(string, Parameter)>>
        {
            [(false, false)] = new(), [(false, true)] = new(), [(true, false)] = new(), [(true, true)] = new(),
        };
        foreach (var (n, p) in parameters)
        {
            if (!p.requires_grad) continue;
            buckets[(IsHead(n), IsNoDecay(n, p))].Add((n, p));
        }
        var groups = new List<NamedParamGroup>();
        foreach (var ((head, noDecay), list) in buckets)
        {
            if (list.Count == 0) continue;
            groups.Add(new NamedParamGroup($"{(head ? "head" : "backbone")}.{(noDecay ? "no_decay" : "decay")}", list,
                head ? lr * headLrMultiplier : lr, noDecay ? 0 : weightDecay));
        }
        return groups;
    }
}
