using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Key mappings between the Hugging Face SegFormer naming (ours) and the original NVlabs code
/// (<c>backbone.patch_embed1</c>, <c>backbone.block1.0.attn.q</c>, fused <c>attn.kv</c>, <c>linear_c4.proj</c>,
/// <c>linear_fuse.conv/bn</c>, <c>linear_pred</c>) and mmsegmentation's <c>MixVisionTransformer</c>/<c>SegformerHead</c>
/// (<c>backbone.layers.i.0.projection</c>, <c>layers.i.1.j.attn.attn.in_proj_weight</c> with fused q/k/v, 1x1-conv FFN
/// <c>ffn.layers.0/1/4</c>, <c>layers.i.2</c> norm, <c>decode_head.convs.i</c>, <c>fusion_conv</c>, <c>conv_seg</c>).
/// Each naming is one table of rename pairs (<see cref="KeyNaming.Rules"/>) read in both directions.
/// Conversions that only rename return the same tensor objects; splits, fusions and reshapes create new tensors in the
/// current dispose scope. Keys that match no rule are kept unchanged (they are then reported by the loader).
/// </summary>
public static class SegformerKeyMapping
{
    /// <summary>The NVlabs naming (original SegFormer repository, <c>mit_b*.pth</c>); encoder keys under <c>backbone.</c> (or <c>module.</c>, or bare).</summary>
    public static KeyNaming Nvlabs { get; } = new("nvlabs", "backbone.", new[] { "backbone.", "module." }, new KeyRule[]
    {
        new("segformer.encoder.patch_embeddings.{i}.proj.", "patch_embed{i+1}.proj."),
        new("segformer.encoder.patch_embeddings.{i}.layer_norm.", "patch_embed{i+1}.norm."),
        new("segformer.encoder.block.{i}.{j}.attention.self.{key|value}.", "block{i+1}.{j}.attn.kv."),
        new("segformer.encoder.block.{i}.{j}.attention.self.query.", "block{i+1}.{j}.attn.q."),
        new("segformer.encoder.block.{i}.{j}.attention.output.dense.", "block{i+1}.{j}.attn.proj."),
        new("segformer.encoder.block.{i}.{j}.attention.self.sr.", "block{i+1}.{j}.attn.sr."),
        new("segformer.encoder.block.{i}.{j}.attention.self.layer_norm.", "block{i+1}.{j}.attn.norm."),
        new("segformer.encoder.block.{i}.{j}.layer_norm_1.", "block{i+1}.{j}.norm1."),
        new("segformer.encoder.block.{i}.{j}.layer_norm_2.", "block{i+1}.{j}.norm2."),
        new("segformer.encoder.block.{i}.{j}.mlp.dense1.", "block{i+1}.{j}.mlp.fc1."),
        new("segformer.encoder.block.{i}.{j}.mlp.dense2.", "block{i+1}.{j}.mlp.fc2."),
        new("segformer.encoder.block.{i}.{j}.", "block{i+1}.{j}."),
        new("segformer.encoder.layer_norm.{i}.", "norm{i+1}."),
        new("decode_head.linear_c.{i}.proj.", "decode_head.linear_c{i+1}.proj."),
        new("decode_head.linear_fuse.", "decode_head.linear_fuse.conv."),
        new("decode_head.batch_norm.", "decode_head.linear_fuse.bn."),
        new("decode_head.classifier.", "decode_head.linear_pred."),
    });

    /// <summary>
    /// mmsegmentation's naming. Its <c>SegformerHead</c> concatenates the stages in order c1..c4 (HF/NVlabs: c4..c1), so
    /// the fusion conv's input-channel blocks are reversed. A <c>SegformerHead</c> whose per-stage <c>convs.i</c> carry a
    /// BatchNorm (<c>convs.i.bn</c>) is a different decoder; those keys match no rule and are reported by the loader.
    /// </summary>
    public static KeyNaming Mmseg { get; } = new("mmseg", "backbone.", new[] { "backbone." }, new KeyRule[]
    {
        new("segformer.encoder.patch_embeddings.{i}.proj.", "layers.{i}.0.projection."),
        new("segformer.encoder.patch_embeddings.{i}.layer_norm.", "layers.{i}.0.norm."),
        new("segformer.encoder.layer_norm.{i}.", "layers.{i}.2."),
        new("segformer.encoder.block.{i}.{j}.attention.self.{query|key|value}.", "layers.{i}.1.{j}.attn.attn.in_proj_"),
        new("segformer.encoder.block.{i}.{j}.attention.output.dense.", "layers.{i}.1.{j}.attn.attn.out_proj."),
        new("segformer.encoder.block.{i}.{j}.attention.self.sr.", "layers.{i}.1.{j}.attn.sr."),
        new("segformer.encoder.block.{i}.{j}.attention.self.layer_norm.", "layers.{i}.1.{j}.attn.norm."),
        new("segformer.encoder.block.{i}.{j}.layer_norm_1.", "layers.{i}.1.{j}.norm1."),
        new("segformer.encoder.block.{i}.{j}.layer_norm_2.", "layers.{i}.1.{j}.norm2."),
        new("segformer.encoder.block.{i}.{j}.mlp.dense1.", "layers.{i}.1.{j}.ffn.layers.0.", KeyConversion.LinearAsConv1x1),
        new("segformer.encoder.block.{i}.{j}.mlp.dwconv.dwconv.", "layers.{i}.1.{j}.ffn.layers.1."),
        new("segformer.encoder.block.{i}.{j}.mlp.dense2.", "layers.{i}.1.{j}.ffn.layers.4.", KeyConversion.LinearAsConv1x1),
        new("segformer.encoder.block.{i}.{j}.", "layers.{i}.1.{j}."),
        new("decode_head.linear_c.{i}.proj.", "decode_head.convs.{i}.conv.", KeyConversion.LinearAsConv1x1),
        new("decode_head.linear_fuse.weight", "decode_head.fusion_conv.conv.weight", KeyConversion.ReversedStageBlocks),
        new("decode_head.batch_norm.", "decode_head.fusion_conv.bn."),
        new("decode_head.classifier.", "decode_head.conv_seg."),
    });

    /// <summary>
    /// The official SegNeXt code's naming (Visual-Attention-Network/SegNeXt, mmseg 0.x <c>MSCAN</c> + <c>LightHamHead</c>):
    /// <c>backbone.patch_embed1.proj.0</c>, <c>backbone.block1.0.attn.spatial_gating_unit.conv0</c>, <c>backbone.norm1</c>;
    /// inside a stage our MSCAN modules already carry mmseg's names, and the head's keys (<c>decode_head.squeeze.conv</c>,
    /// <c>decode_head.hamburger.ham_in.conv</c>, <c>decode_head.conv_seg</c>) are the same in both.
    /// </summary>
    public static KeyNaming Segnext { get; } = new("segnext", "backbone.", new[] { "backbone." }, new KeyRule[]
    {
        new("segformer.encoder.patch_embeddings.{i}.", "patch_embed{i+1}."),
        new("segformer.encoder.block.{i}.{j}.", "block{i+1}.{j}."),
        new("segformer.encoder.layer_norm.{i}.", "norm{i+1}."),
    });

    /// <summary>NVlabs (original SegFormer repo / mit_b*.pth) → Hugging Face.</summary>
    public static Dictionary<string, Tensor> FromNvlabs(IReadOnlyDictionary<string, Tensor> sd) => Nvlabs.Import(sd);

    /// <summary>Hugging Face → NVlabs naming (fusing key/value into <c>attn.kv</c>), for export and round-trip tests.</summary>
    public static Dictionary<string, Tensor> ToNvlabs(IReadOnlyDictionary<string, Tensor> sd) => Nvlabs.Export(sd);

    /// <summary>mmsegmentation → Hugging Face (splitting q/k/v, 1x1-conv weights to linear ones, fusion conv blocks reordered).</summary>
    public static Dictionary<string, Tensor> FromMmseg(IReadOnlyDictionary<string, Tensor> sd) => Mmseg.Import(sd);

    /// <summary>Hugging Face → mmsegmentation naming (fusing q/k/v, 1x1-conv FFN and decoder weights), for export and round-trip tests.</summary>
    public static Dictionary<string, Tensor> ToMmseg(IReadOnlyDictionary<string, Tensor> sd) => Mmseg.Export(sd);
}

/// <summary>What a <see cref="KeyRule"/> does to the tensor besides renaming it.</summary>
public enum KeyConversion
{
    /// <summary>The same tensor (a rename, or a fusion/split when the Hugging Face side lists parts).</summary>
    Same,
    /// <summary>A linear layer's <c>weight</c> [out, in] stored as a 1x1 conv's [out, in, 1, 1] (other suffixes unchanged).</summary>
    LinearAsConv1x1,
    /// <summary>The decoder fuse weight with its per-stage input-channel blocks in the opposite order (c1..c4 vs c4..c1).</summary>
    ReversedStageBlocks,
}

/// <summary>
/// One rename pair: a Hugging Face key pattern and the other naming's. A pattern ending in "." or "_" is a prefix (the
/// rest of the key is carried over: <c>attn.attn.in_proj_</c> + <c>weight</c>); any other pattern is a whole key.
/// Placeholders: <c>{i}</c> the 0-based stage, <c>{i+1}</c> the same stage counted from 1, <c>{j}</c> the layer; on the
/// Hugging Face side <c>{a|b|c}</c> lists the parts that the other naming stores fused into one tensor (concatenated
/// along dim 0, in that order).
/// </summary>
public sealed record KeyRule(string HuggingFace, string Other, KeyConversion Conversion = KeyConversion.Same)
{
    private static readonly Regex Placeholder = new(@"\{(i|i\+1|j|[a-z_|]+\|[a-z_|]+)\}", RegexOptions.Compiled);

    internal Regex HfPattern { get; } = Compile(HuggingFace);
    internal Regex OtherPattern { get; } = Compile(Other);

    /// <summary>The fused parts of the Hugging Face side (empty for a plain rename).</summary>
    public IReadOnlyList<string> Parts { get; } = Placeholder.Matches(HuggingFace).Select(m => m.Groups[1].Value).FirstOrDefault(v => v.Contains('|'))?.Split('|') ?? Array.Empty<string>();

    /// <summary>True for rules on encoder keys (the other naming may put them under a prefix such as <c>backbone.</c>).</summary>
    public bool IsEncoder => HuggingFace.StartsWith("segformer.encoder.", StringComparison.Ordinal);

    private static bool IsPrefix(string pattern) => pattern.EndsWith('.') || pattern.EndsWith('_');

    private static Regex Compile(string pattern)
    {
        var sb = new StringBuilder("^");
        int at = 0;
        foreach (Match m in Placeholder.Matches(pattern))
        {
            sb.Append(Regex.Escape(pattern[at..m.Index]));
            var v = m.Groups[1].Value;
            sb.Append(v switch { "i" => @"(?<i>\d)", "i+1" => @"(?<i1>\d)", "j" => @"(?<j>\d+)", _ => $"(?<part>{v})" });
            at = m.Index + m.Length;
        }
        sb.Append(Regex.Escape(pattern[at..]));
        if (!IsPrefix(pattern)) sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    /// <summary>Stage, layer and part read from a match of either side.</summary>
    internal static (int? stage, string? layer, string? part) Read(Match m) =>
        (m.Groups["i"].Success ? int.Parse(m.Groups["i"].Value, CultureInfo.InvariantCulture)
            : m.Groups["i1"].Success ? int.Parse(m.Groups["i1"].Value, CultureInfo.InvariantCulture) - 1 : null,
         m.Groups["j"].Success ? m.Groups["j"].Value : null,
         m.Groups["part"].Success ? m.Groups["part"].Value : null);

    /// <summary>Fills <paramref name="pattern"/>'s placeholders.</summary>
    internal static string Render(string pattern, int? stage, string? layer, string? part) =>
        Placeholder.Replace(pattern, m => m.Groups[1].Value switch
        {
            "i" => stage!.Value.ToString(CultureInfo.InvariantCulture),
            "i+1" => (stage!.Value + 1).ToString(CultureInfo.InvariantCulture),
            "j" => layer!,
            _ => part!,
        });
}

/// <summary>A state-dict naming other than Hugging Face's: its table of <see cref="KeyRule"/>s and how it prefixes encoder keys.</summary>
/// <param name="Name">The naming's name (<c>nvlabs</c>, <c>mmseg</c>), as <see cref="CheckpointImport.DetectNaming"/> reports it.</param>
/// <param name="EncoderPrefix">Prepended to encoder keys on export (<c>backbone.</c>).</param>
/// <param name="ImportPrefixes">On import, the first of these a key starts with is removed before the rules are matched.</param>
/// <param name="Rules">The rename pairs, most specific first; the first rule that matches a key applies.</param>
public sealed record KeyNaming(string Name, string EncoderPrefix, IReadOnlyList<string> ImportPrefixes, IReadOnlyList<KeyRule> Rules)
{
    private static readonly Regex StageProjection = new(@"^decode_head\.linear_c\.\d\.proj\.weight$", RegexOptions.Compiled);

    /// <summary>The first rule whose Hugging Face pattern matches <paramref name="key"/>, with the match.</summary>
    public (KeyRule rule, Match match)? MatchHuggingFace(string key) => First(key, r => r.HfPattern);

    /// <summary>The first rule whose pattern in this naming matches <paramref name="key"/> (import prefix removed), with the match.</summary>
    public (KeyRule rule, Match match)? MatchOther(string key) => First(StripImportPrefix(key), r => r.OtherPattern);

    private (KeyRule rule, Match match)? First(string key, Func<KeyRule, Regex> pattern)
    {
        foreach (var r in Rules)
            if (pattern(r).Match(key) is { Success: true } m) return (r, m);
        return null;
    }

    private string StripImportPrefix(string key)
    {
        foreach (var p in ImportPrefixes)
            if (key.StartsWith(p, StringComparison.Ordinal)) return key[p.Length..];
        return key;
    }

    /// <summary>This naming's key for a Hugging Face key (the first fused part stands for the fused tensor), or null when no rule matches.</summary>
    public string? OtherKey(string hfKey) => MatchHuggingFace(hfKey) is { } hit ? OtherKey(hit.rule, hit.match, hfKey) : null;

    /// <summary>The Hugging Face keys of a key in this naming (several for a fused tensor), or null when no rule matches.</summary>
    public IReadOnlyList<string>? HuggingFaceKeys(string key) => MatchOther(key) is { } hit ? HuggingFaceKeys(hit.rule, hit.match, key) : null;

    private string OtherKey(KeyRule rule, Match m, string hfKey)
    {
        var (stage, layer, _) = KeyRule.Read(m);
        return (rule.IsEncoder ? EncoderPrefix : "") + KeyRule.Render(rule.Other, stage, layer, null) + hfKey[m.Length..];
    }

    private IReadOnlyList<string> HuggingFaceKeys(KeyRule rule, Match m, string key)
    {
        var (stage, layer, _) = KeyRule.Read(m);
        var suffix = StripImportPrefix(key)[m.Length..];
        return rule.Parts.Count == 0
            ? new[] { KeyRule.Render(rule.HuggingFace, stage, layer, null) + suffix }
            : rule.Parts.Select(p => KeyRule.Render(rule.HuggingFace, stage, layer, p) + suffix).ToArray();
    }

    /// <summary>Hugging Face keys → this naming (fusing the parts of fused rules, reshaping and reordering as the rules say).</summary>
    public Dictionary<string, Tensor> Export(IReadOnlyDictionary<string, Tensor> sd)
    {
        var stages = StageCount(sd.Keys);
        var r = new Dictionary<string, Tensor>();
        foreach (var (key, t) in sd)
        {
            if (MatchHuggingFace(key) is not { } hit) { r[key] = t; continue; }
            var (rule, m) = hit;
            var (stage, layer, part) = KeyRule.Read(m);
            var suffix = key[m.Length..];
            var target = OtherKey(rule, m, key);
            if (rule.Parts.Count > 0)
            {
                if (part != rule.Parts[0]) continue; // written with the first part
                var parts = rule.Parts.Select(p =>
                {
                    var k = KeyRule.Render(rule.HuggingFace, stage, layer, p) + suffix;
                    return sd.TryGetValue(k, out var v) ? v : throw new ArgumentException($"{key} is fused with {k} in {Name} naming, but the state dict has no {k}");
                }).ToArray();
                r[target] = cat(parts, 0);
                continue;
            }
            r[target] = rule.Conversion switch
            {
                KeyConversion.LinearAsConv1x1 when suffix == "weight" => t.reshape(t.size(0), t.size(1), 1, 1),
                KeyConversion.ReversedStageBlocks => ReverseBlocks(t, stages),
                _ => t,
            };
        }
        return r;
    }

    /// <summary>This naming → Hugging Face keys (splitting fused tensors, reshaping and reordering as the rules say).</summary>
    public Dictionary<string, Tensor> Import(IReadOnlyDictionary<string, Tensor> sd)
    {
        var stages = StageCount(sd.Keys.SelectMany(k => HuggingFaceKeys(k) ?? Array.Empty<string>()));
        var r = new Dictionary<string, Tensor>();
        foreach (var (key, t) in sd)
        {
            if (MatchOther(key) is not { } hit) { r[key] = t; continue; }
            var (rule, m) = hit;
            var keys = HuggingFaceKeys(rule, m, key);
            if (rule.Parts.Count > 0)
            {
                var chunks = t.chunk(rule.Parts.Count, 0);
                for (int p = 0; p < keys.Count; p++) r[keys[p]] = chunks[p];
                continue;
            }
            var suffix = StripImportPrefix(key)[m.Length..];
            r[keys[0]] = rule.Conversion switch
            {
                KeyConversion.LinearAsConv1x1 when suffix == "weight" && t.dim() == 4 => t.reshape(t.size(0), t.size(1)),
                KeyConversion.ReversedStageBlocks => ReverseBlocks(t, stages),
                _ => t,
            };
        }
        return r;
    }

    /// <summary>Stages of the decoder: how many per-stage projection weights the (Hugging Face) keys name; 4 when none.</summary>
    private static int StageCount(IEnumerable<string> hfKeys) => hfKeys.Count(k => StageProjection.IsMatch(k)) is var n and > 0 ? n : 4;

    private static Tensor ReverseBlocks(Tensor t, int stages) => cat(t.chunk(stages, 1).Reverse().ToArray(), 1);
}
