namespace BoostFormer.Profiling;

/// <summary>Cost of one part of a SegFormer-family model: an encoder stage (its patch embedding, layers and closing norm) or the decoder.</summary>
public sealed record StageCost(string Part, long Params, double GMacConv, double GMacLinear, double GMacAttention, double GMacTotal);

/// <summary>Groups a <see cref="ProfileReport"/> of a SegFormer/BoostFormer model by encoder stage and decoder.</summary>
public static class StageBreakdown
{
    /// <summary>Stage 1..4 of the encoder, then the decode head.</summary>
    public static IReadOnlyList<StageCost> ByStage(ProfileReport report)
    {
        var parts = new Dictionary<string, (long p, ModuleCounts? c)[]>();
        string? PartOf(string path)
        {
            foreach (var prefix in new[] { "segformer.encoder.patch_embeddings.", "segformer.encoder.block.", "segformer.encoder.layer_norm." })
            {
                if (!path.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var rest = path[prefix.Length..];
                return rest.Contains('.') ? null : $"stage {int.Parse(rest, System.Globalization.CultureInfo.InvariantCulture) + 1}";
            }
            return path == "decode_head" ? "decoder" : null;
        }
        var acc = new SortedDictionary<string, (long p, double conv, double lin, double att)>(StringComparer.Ordinal);
        foreach (var m in report.Modules)
        {
            var part = PartOf(m.Path);
            if (part is null) continue;
            var a = acc.GetValueOrDefault(part);
            acc[part] = (a.p + m.Params, a.conv + m.Counts.Macs(MacKind.Conv) / 1e9, a.lin + m.Counts.Macs(MacKind.Linear) / 1e9, a.att + m.Counts.Macs(MacKind.Attention) / 1e9);
        }
        return acc.OrderBy(kv => kv.Key == "decoder" ? 1 : 0).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new StageCost(kv.Key, kv.Value.p, kv.Value.conv, kv.Value.lin, kv.Value.att,
            kv.Value.conv + kv.Value.lin + kv.Value.att)).ToList();
    }
}
