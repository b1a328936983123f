using System.Globalization;
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
/// Conversions that only rename return the same tensor objects; splits, fusions and reshapes create new tensors in the
/// current dispose scope. Keys that do not match a rule are kept unchanged (they are then reported by the loader).
/// </summary>
public static class SegformerKeyMapping
{
    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Hugging Face keys, normalising the encoder-only prefix-less form is left to the loader.</summary>
    public static Dictionary<string, Tensor> FromHuggingFace(IReadOnlyDictionary<string, Tensor> sd) => sd.ToDictionary(kv => kv.Key, kv => kv.Value);

    // ------------------------------------------------------------------ NVlabs
    /// <summary>NVlabs (original SegFormer repo / mit_b*.pth) → Hugging Face.</summary>
    public static Dictionary<string, Tensor> FromNvlabs(IReadOnlyDictionary<string, Tensor> sd)
    {
        var r = new Dictionary<string, Tensor>();
        foreach (var (key0, t) in sd)
        {
            var key = key0;
            var enc = "segformer.encoder.";
            if (key.StartsWith("backbone.", StringComparison.Ordinal)) key = key["backbone.".Length..];
            else if (key.StartsWith("module.", StringComparison.Ordinal)) key = key["module.".Length..];
            Match m;
            if ((m = Regex.Match(key, @"^patch_embed(\d)\.(proj|norm)\.(.+)$")).Success)
            {
                var i = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1;
                r[$"{enc}patch_embeddings.{I(i)}.{(m.Groups[2].Value == "proj" ? "proj" : "layer_norm")}.{m.Groups[3].Value}"] = t;
            }
            else if ((m = Regex.Match(key, @"^block(\d)\.(\d+)\.(.+)$")).Success)
            {
                var p = $"{enc}block.{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1)}.{m.Groups[2].Value}.";
                var rest = m.Groups[3].Value;
                if (Regex.Match(rest, @"^attn\.kv\.(weight|bias)$") is { Success: true } kv)
                {
                    var parts = t.chunk(2, 0);
                    r[p + "attention.self.key." + kv.Groups[1].Value] = parts[0];
                    r[p + "attention.self.value." + kv.Groups[1].Value] = parts[1];
                    continue;
                }
                rest = Regex.Replace(rest, @"^norm1\.", "layer_norm_1.");
                rest = Regex.Replace(rest, @"^norm2\.", "layer_norm_2.");
                rest = Regex.Replace(rest, @"^attn\.q\.", "attention.self.query.");
                rest = Regex.Replace(rest, @"^attn\.proj\.", "attention.output.dense.");
                rest = Regex.Replace(rest, @"^attn\.sr\.", "attention.self.sr.");
                rest = Regex.Replace(rest, @"^attn\.norm\.", "attention.self.layer_norm.");
                rest = Regex.Replace(rest, @"^mlp\.fc1\.", "mlp.dense1.");
                rest = Regex.Replace(rest, @"^mlp\.fc2\.", "mlp.dense2.");
                r[p + rest] = t;
            }
            else if ((m = Regex.Match(key, @"^norm(\d)\.(.+)$")).Success)
                r[$"{enc}layer_norm.{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1)}.{m.Groups[2].Value}"] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.linear_c(\d)\.proj\.(.+)$")).Success)
                r[$"decode_head.linear_c.{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1)}.proj.{m.Groups[2].Value}"] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.linear_fuse\.conv\.(.+)$")).Success) r["decode_head.linear_fuse." + m.Groups[1].Value] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.linear_fuse\.bn\.(.+)$")).Success) r["decode_head.batch_norm." + m.Groups[1].Value] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.linear_pred\.(.+)$")).Success) r["decode_head.classifier." + m.Groups[1].Value] = t;
            else r[key0] = t;
        }
        return r;
    }

    /// <summary>Hugging Face → NVlabs naming (fusing key/value into <c>attn.kv</c>), for export and round-trip tests.</summary>
    public static Dictionary<string, Tensor> ToNvlabs(IReadOnlyDictionary<string, Tensor> sd)
    {
        var r = new Dictionary<string, Tensor>();
        foreach (var (key, t) in sd)
        {
            Match m;
            if ((m = Regex.Match(key, @"^segformer\.encoder\.patch_embeddings\.(\d)\.(proj|layer_norm)\.(.+)$")).Success)
                r[$"backbone.patch_embed{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1)}.{(m.Groups[2].Value == "proj" ? "proj" : "norm")}.{m.Groups[3].Value}"] = t;
            else if ((m = Regex.Match(key, @"^segformer\.encoder\.block\.(\d)\.(\d+)\.(.+)$")).Success)
            {
                var p = $"backbone.block{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1)}.{m.Groups[2].Value}.";
                var rest = m.Groups[3].Value;
                if (Regex.Match(rest, @"^attention\.self\.key\.(weight|bias)$") is { Success: true } k)
                {
                    var v = sd[key.Replace("attention.self.key.", "attention.self.value.", StringComparison.Ordinal)];
                    r[p + "attn.kv." + k.Groups[1].Value] = cat(new[] { t, v }, 0);
                    continue;
                }
                if (rest.StartsWith("attention.self.value.", StringComparison.Ordinal)) continue;
                rest = Regex.Replace(rest, @"^layer_norm_1\.", "norm1.");
                rest = Regex.Replace(rest, @"^layer_norm_2\.", "norm2.");
                rest = Regex.Replace(rest, @"^attention\.self\.query\.", "attn.q.");
                rest = Regex.Replace(rest, @"^attention\.output\.dense\.", "attn.proj.");
                rest = Regex.Replace(rest, @"^attention\.self\.sr\.", "attn.sr.");
                rest = Regex.Replace(rest, @"^attention\.self\.layer_norm\.", "attn.norm.");
                rest = Regex.Replace(rest, @"^mlp\.dense1\.", "mlp.fc1.");
                rest = Regex.Replace(rest, @"^mlp\.dense2\.", "mlp.fc2.");
                r[p + rest] = t;
            }
            else if ((m = Regex.Match(key, @"^segformer\.encoder\.layer_norm\.(\d)\.(.+)$")).Success)
                r[$"backbone.norm{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1)}.{m.Groups[2].Value}"] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.linear_c\.(\d)\.proj\.(.+)$")).Success)
                r[$"decode_head.linear_c{I(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1)}.proj.{m.Groups[2].Value}"] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.linear_fuse\.(.+)$")).Success) r["decode_head.linear_fuse.conv." + m.Groups[1].Value] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.batch_norm\.(.+)$")).Success) r["decode_head.linear_fuse.bn." + m.Groups[1].Value] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.classifier\.(.+)$")).Success) r["decode_head.linear_pred." + m.Groups[1].Value] = t;
            else r[key] = t;
        }
        return r;
    }

    // ------------------------------------------------------------------ mmsegmentation
    /// <summary>
    /// mmsegmentation → Hugging Face. mmseg's <c>SegformerHead</c> concatenates the stages in order c1..c4 (HF/NVlabs: c4..c1),
    /// so the fusion conv's input-channel blocks are reversed. A <c>SegformerHead</c> whose per-stage <c>convs.i</c> carry a
    /// BatchNorm (<c>convs.i.bn</c>) is a different decoder; those keys are left unmapped and reported by the loader.
    /// </summary>
    public static Dictionary<string, Tensor> FromMmseg(IReadOnlyDictionary<string, Tensor> sd)
    {
        var r = new Dictionary<string, Tensor>();
        var enc = "segformer.encoder.";
        foreach (var (key0, t) in sd)
        {
            var key = key0;
            if (key.StartsWith("backbone.", StringComparison.Ordinal)) key = key["backbone.".Length..];
            Match m;
            if ((m = Regex.Match(key, @"^layers\.(\d)\.0\.(projection|norm)\.(.+)$")).Success)
                r[$"{enc}patch_embeddings.{m.Groups[1].Value}.{(m.Groups[2].Value == "projection" ? "proj" : "layer_norm")}.{m.Groups[3].Value}"] = t;
            else if ((m = Regex.Match(key, @"^layers\.(\d)\.2\.(weight|bias)$")).Success)
                r[$"{enc}layer_norm.{m.Groups[1].Value}.{m.Groups[2].Value}"] = t;
            else if ((m = Regex.Match(key, @"^layers\.(\d)\.1\.(\d+)\.(.+)$")).Success)
            {
                var p = $"{enc}block.{m.Groups[1].Value}.{m.Groups[2].Value}.";
                var rest = m.Groups[3].Value;
                if (rest is "attn.attn.in_proj_weight" or "attn.attn.in_proj_bias")
                {
                    var kind = rest.EndsWith("weight", StringComparison.Ordinal) ? "weight" : "bias";
                    var qkv = t.chunk(3, 0);
                    r[p + "attention.self.query." + kind] = qkv[0];
                    r[p + "attention.self.key." + kind] = qkv[1];
                    r[p + "attention.self.value." + kind] = qkv[2];
                    continue;
                }
                if ((m = Regex.Match(rest, @"^ffn\.layers\.(0|4)\.weight$")).Success)
                {
                    r[p + (m.Groups[1].Value == "0" ? "mlp.dense1.weight" : "mlp.dense2.weight")] = t.dim() == 4 ? t.reshape(t.size(0), t.size(1)) : t;
                    continue;
                }
                rest = Regex.Replace(rest, @"^ffn\.layers\.0\.bias$", "mlp.dense1.bias");
                rest = Regex.Replace(rest, @"^ffn\.layers\.4\.bias$", "mlp.dense2.bias");
                rest = Regex.Replace(rest, @"^ffn\.layers\.1\.", "mlp.dwconv.dwconv.");
                rest = Regex.Replace(rest, @"^norm1\.", "layer_norm_1.");
                rest = Regex.Replace(rest, @"^norm2\.", "layer_norm_2.");
                rest = Regex.Replace(rest, @"^attn\.attn\.out_proj\.", "attention.output.dense.");
                rest = Regex.Replace(rest, @"^attn\.sr\.", "attention.self.sr.");
                rest = Regex.Replace(rest, @"^attn\.norm\.", "attention.self.layer_norm.");
                r[p + rest] = t;
            }
            else if ((m = Regex.Match(key, @"^decode_head\.convs\.(\d)\.conv\.(weight|bias)$")).Success)
                r[$"decode_head.linear_c.{m.Groups[1].Value}.proj.{m.Groups[2].Value}"] = m.Groups[2].Value == "weight" && t.dim() == 4 ? t.reshape(t.size(0), t.size(1)) : t;
            else if (key == "decode_head.fusion_conv.conv.weight")
            {
                var blocks = t.chunk(sd.Keys.Count(k => Regex.IsMatch(k, @"^decode_head\.convs\.\d\.conv\.weight$")) is var n and > 0 ? n : 4, 1);
                r["decode_head.linear_fuse.weight"] = cat(blocks.Reverse().ToArray(), 1);
            }
            else if ((m = Regex.Match(key, @"^decode_head\.fusion_conv\.bn\.(.+)$")).Success) r["decode_head.batch_norm." + m.Groups[1].Value] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.conv_seg\.(.+)$")).Success) r["decode_head.classifier." + m.Groups[1].Value] = t;
            else r[key0] = t;
        }
        return r;
    }

    /// <summary>Hugging Face → mmsegmentation naming (fusing q/k/v, 1x1-conv FFN and decoder weights), for export and round-trip tests.</summary>
    public static Dictionary<string, Tensor> ToMmseg(IReadOnlyDictionary<string, Tensor> sd)
    {
        var r = new Dictionary<string, Tensor>();
        var nStages = sd.Keys.Count(k => Regex.IsMatch(k, @"^decode_head\.linear_c\.\d\.proj\.weight$"));
        foreach (var (key, t) in sd)
        {
            Match m;
            if ((m = Regex.Match(key, @"^segformer\.encoder\.patch_embeddings\.(\d)\.(proj|layer_norm)\.(.+)$")).Success)
                r[$"backbone.layers.{m.Groups[1].Value}.0.{(m.Groups[2].Value == "proj" ? "projection" : "norm")}.{m.Groups[3].Value}"] = t;
            else if ((m = Regex.Match(key, @"^segformer\.encoder\.layer_norm\.(\d)\.(.+)$")).Success)
                r[$"backbone.layers.{m.Groups[1].Value}.2.{m.Groups[2].Value}"] = t;
            else if ((m = Regex.Match(key, @"^segformer\.encoder\.block\.(\d)\.(\d+)\.(.+)$")).Success)
            {
                var p = $"backbone.layers.{m.Groups[1].Value}.1.{m.Groups[2].Value}.";
                var rest = m.Groups[3].Value;
                if (Regex.Match(rest, @"^attention\.self\.query\.(weight|bias)$") is { Success: true } q)
                {
                    var kind = q.Groups[1].Value;
                    var k = sd[key.Replace("attention.self.query.", "attention.self.key.", StringComparison.Ordinal)];
                    var v = sd[key.Replace("attention.self.query.", "attention.self.value.", StringComparison.Ordinal)];
                    r[p + "attn.attn.in_proj_" + kind] = cat(new[] { t, k, v }, 0);
                    continue;
                }
                if (rest.StartsWith("attention.self.key.", StringComparison.Ordinal) || rest.StartsWith("attention.self.value.", StringComparison.Ordinal)) continue;
                if (rest is "mlp.dense1.weight" or "mlp.dense2.weight")
                {
                    r[p + (rest == "mlp.dense1.weight" ? "ffn.layers.0.weight" : "ffn.layers.4.weight")] = t.reshape(t.size(0), t.size(1), 1, 1);
                    continue;
                }
                rest = Regex.Replace(rest, @"^mlp\.dense1\.bias$", "ffn.layers.0.bias");
                rest = Regex.Replace(rest, @"^mlp\.dense2\.bias$", "ffn.layers.4.bias");
                rest = Regex.Replace(rest, @"^mlp\.dwconv\.dwconv\.", "ffn.layers.1.");
                rest = Regex.Replace(rest, @"^layer_norm_1\.", "norm1.");
                rest = Regex.Replace(rest, @"^layer_norm_2\.", "norm2.");
                rest = Regex.Replace(rest, @"^attention\.output\.dense\.", "attn.attn.out_proj.");
                rest = Regex.Replace(rest, @"^attention\.self\.sr\.", "attn.sr.");
                rest = Regex.Replace(rest, @"^attention\.self\.layer_norm\.", "attn.norm.");
                r[p + rest] = t;
            }
            else if ((m = Regex.Match(key, @"^decode_head\.linear_c\.(\d)\.proj\.(weight|bias)$")).Success)
                r[$"decode_head.convs.{m.Groups[1].Value}.conv.{m.Groups[2].Value}"] = m.Groups[2].Value == "weight" ? t.reshape(t.size(0), t.size(1), 1, 1) : t;
            else if (key == "decode_head.linear_fuse.weight")
                r["decode_head.fusion_conv.conv.weight"] = cat(t.chunk(nStages > 0 ? nStages : 4, 1).Reverse().ToArray(), 1);
            else if ((m = Regex.Match(key, @"^decode_head\.batch_norm\.(.+)$")).Success) r["decode_head.fusion_conv.bn." + m.Groups[1].Value] = t;
            else if ((m = Regex.Match(key, @"^decode_head\.classifier\.(.+)$")).Success) r["decode_head.conv_seg." + m.Groups[1].Value] = t;
            else r[key] = t;
        }
        return r;
    }
}
