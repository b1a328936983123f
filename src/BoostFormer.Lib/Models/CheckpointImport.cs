using System.Text.RegularExpressions;
using TorchSharp;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// What a checkpoint load did: the naming scheme detected, keys loaded, model keys freshly initialised because the
/// checkpoint legitimately lacks them (an encoder-only <c>mit-b*</c> checkpoint has no decoder), checkpoint keys ignored
/// (known-unused ones such as the BoostFormer reference's <c>decode_head.linear_fuse.weight</c> in weighted-sum mode, or a
/// classification head), and model keys missing for no known reason.
/// </summary>
public sealed record CheckpointLoadReport(string source, string naming, IReadOnlyList<string> loaded, IReadOnlyList<string> initialized,
    IReadOnlyList<string> ignored, IReadOnlyList<string> missing)
{
    /// <summary>Explanations of import decisions (e.g. a decoder that could not be imported).</summary>
    public IReadOnlyList<string> notes { get; init; } = Array.Empty<string>();

    public override string ToString() =>
        $"{source} ({naming} naming): {loaded.Count} loaded, {initialized.Count} initialised fresh, {ignored.Count} ignored, {missing.Count} missing" +
        (ignored.Count > 0 ? $"; ignored: {string.Join(", ", ignored.Take(10))}{(ignored.Count > 10 ? ", …" : "")}" : "") +
        (missing.Count > 0 ? $"; missing: {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", …" : "")}" : "") +
        (notes.Count > 0 ? "; " + string.Join("; ", notes) : "");
}

/// <summary>
/// Imports SegFormer checkpoints: Hugging Face <c>model.safetensors</c> / <c>pytorch_model.bin</c>, PyTorch <c>.pth</c>/<c>.bin</c>
/// zip files (read without executing pickle; see <see cref="TorchZipReader"/>), in Hugging Face, NVlabs or mmsegmentation
/// naming (mapped to Hugging Face keys, fusing/splitting q/k/v as needed), encoder-only or full.
/// </summary>
public static class CheckpointImport
{
    /// <summary>
    /// Reads a state dict from a file or a Hugging Face model folder (<c>model.safetensors</c> or <c>pytorch_model.bin</c>).
    /// A <c>.pth</c> whose top level is <c>{"state_dict": …}</c> or <c>{"model": …}</c> is unwrapped. Tensors belong to the
    /// caller (current dispose scope).
    /// </summary>
    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        if (Directory.Exists(path))
        {
            foreach (var n in new[] { "model.safetensors", "pytorch_model.bin", "weights.safetensors" })
            {
                var p = Path.Combine(path, n);
                if (File.Exists(p)) return ReadStateDict(p);
            }
            throw new FileNotFoundException($"{path}: folder has no model.safetensors, pytorch_model.bin or weights.safetensors");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        if (!IsSafetensors(path)) return TorchZipReader.LoadStateDict(path);
        var tensors = Safetensors.Load(path);
        if (!Safetensors.ReadMetadata(path).TryGetValue("format", out var format) || format != TrainingCheckpointFormat) return tensors;
        // A training checkpoint (model/…, optimizer/…, rng/torch): its model weights, so that every verb reads it.
        var model = new Dictionary<string, Tensor>();
        foreach (var (k, v) in tensors)
        {
            if (k.StartsWith("model/", StringComparison.Ordinal)) model[k["model/".Length..]] = v;
            else v.Dispose();
        }
        return model;
    }

    /// <summary>The <c>format</c> metadata value of the checkpoints training writes (<c>model/</c>, <c>optimizer/</c>, <c>rng/torch</c> tensors).</summary>
    public const string TrainingCheckpointFormat = "boostformer-checkpoint-v1";

    /// <summary>True when <paramref name="path"/> is read as safetensors (by extension, else by not being a PyTorch zip or pickle).</summary>
    public static bool IsSafetensors(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return true;
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        if (fs.Read(head) < 4) return true; // let the safetensors reader report the truncated file
        var zip = head[0] == (byte)'P' && head[1] == (byte)'K';
        var pickle = head[0] == 0x80; // a legacy (pre-1.6) torch.save pickle starts with PROTO
        return !zip && !pickle;
    }

    /// <summary>Which naming scheme a state dict uses: <c>huggingface</c>, <c>nvlabs</c>, <c>mmseg</c>, <c>segnext</c> (the official SegNeXt code's) or <c>torchvision</c> (a ResNet).</summary>
    public static string DetectNaming(IEnumerable<string> keys)
    {
        var ks = keys.ToList();
        if (ks.Any(k => k.StartsWith("segformer.", StringComparison.Ordinal) || k.StartsWith("encoder.block.", StringComparison.Ordinal) || k.StartsWith("decode_head.linear_c.", StringComparison.Ordinal)))
            return "huggingface";
        if (ks.Any(k => k.Contains("layers.", StringComparison.Ordinal) && (k.Contains("attn.attn.in_proj_weight", StringComparison.Ordinal) || k.Contains(".ffn.layers.", StringComparison.Ordinal)))
            || ks.Any(k => k.StartsWith("decode_head.convs.", StringComparison.Ordinal) || k.StartsWith("decode_head.fusion_conv.", StringComparison.Ordinal)))
            return "mmseg";
        if (ks.Contains("conv1.weight") && ks.Contains("bn1.running_mean") && ks.Any(k => k.StartsWith("layer4.", StringComparison.Ordinal)))
            return "torchvision";
        if (ks.Any(k => k.Contains(".spatial_gating_unit.", StringComparison.Ordinal) || k.StartsWith("decode_head.hamburger.", StringComparison.Ordinal)))
            return "segnext";
        if (ks.Any(k => Regex.IsMatch(k, @"(^|\.)(patch_embed\d|block\d)\.")) || ks.Any(k => k.StartsWith("decode_head.linear_c4.", StringComparison.Ordinal)))
            return "nvlabs";
        return "huggingface";
    }

    /// <summary>
    /// Renames (and fuses/splits) a state dict into Hugging Face keys. The input tensors are not disposed; new tensors
    /// (splits) join the current dispose scope.
    /// </summary>
    public static Dictionary<string, Tensor> ToHuggingFace(IReadOnlyDictionary<string, Tensor> sd, out string naming)
    {
        naming = DetectNaming(sd.Keys);
        // A Lawin head (decode_head.lawin_8.…) keeps the reference's (mmseg) names in LawinHead: only the encoder is renamed.
        if (naming is "nvlabs" or "mmseg" && sd.Keys.Any(k => k.StartsWith("decode_head.lawin_", StringComparison.Ordinal)))
        {
            static bool IsHead(string k) => k.StartsWith("decode_head.", StringComparison.Ordinal);
            var encoder = sd.Where(kv => !IsHead(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            var imported = naming == "nvlabs" ? SegformerKeyMapping.FromNvlabs(encoder) : SegformerKeyMapping.FromMmseg(encoder);
            foreach (var (k, v) in sd.Where(kv => IsHead(kv.Key))) imported[k] = v;
            return imported;
        }
        return naming switch
        {
            "nvlabs" => SegformerKeyMapping.FromNvlabs(sd),
            "mmseg" => SegformerKeyMapping.FromMmseg(sd),
            "segnext" => SegformerKeyMapping.Segnext.Import(sd),
            // torchvision's ResNet: the backbone keys sit under the encoder; its ImageNet classifier (fc) has no place
            "torchvision" => sd.Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal)).ToDictionary(kv => "segformer.encoder." + kv.Key, kv => kv.Value),
            _ => new Dictionary<string, Tensor>(sd),
        };
    }

    /// <summary>Loads <paramref name="path"/> (any supported format and naming) into <paramref name="model"/>. See <see cref="LoadStateDictInto"/>.</summary>
    public static CheckpointLoadReport LoadInto(nn.Module model, string path, bool strict = false, bool reinitializeMismatchedClassifier = false)
    {
        using var scope = NewDisposeScope();
        var raw = ReadStateDict(path);
        try { return LoadStateDictInto(model, raw, strict, path, reinitializeMismatchedClassifier); }
        catch (ArgumentException e) { throw new ArgumentException($"{path}: {e.Message}", e); }
    }

    /// <summary>
    /// Loads a state dict in any supported naming into <paramref name="model"/> (a segmentation or classification SegFormer,
    /// or any module with Hugging Face keys). Shape mismatches always throw, naming the key and both shapes. Keys the model
    /// does not have are ignored (and reported); model keys the checkpoint lacks are "initialised" when explainable (the
    /// decoder or classifier of an encoder-only checkpoint, BatchNorm's <c>num_batches_tracked</c>) and "missing"
    /// otherwise. With <paramref name="strict"/>, missing keys and ignored keys that are not known-unused throw. With
    /// <paramref name="reinitializeMismatchedClassifier"/> (Hugging Face's <c>ignore_mismatched_sizes</c>, for the classifier
    /// only), a classifier whose class count differs (a 150-class ADE20K checkpoint fine-tuned on 11-class CamVid) keeps the
    /// model's fresh initialisation, and the report says so.
    /// </summary>
    public static CheckpointLoadReport LoadStateDictInto(nn.Module model, IReadOnlyDictionary<string, Tensor> stateDict, bool strict = false, string source = "state dict",
        bool reinitializeMismatchedClassifier = false)
    {
        using var scope = NewDisposeScope();
        var sd = ToHuggingFace(stateDict, out var naming);
        var own = model.state_dict();
        var notes = new List<string>();
        var droppedDecoder = new List<string>();
        // mmseg's SegformerHead applies BatchNorm + ReLU after every per-stage 1x1 conv (convs.i.bn): not the paper's MLP
        // decoder, so it cannot be represented. Import the encoder and initialise the decoder fresh.
        if (naming == "mmseg" && sd.Keys.Any(k => Regex.IsMatch(k, @"^decode_head\.convs\.\d+\.bn\.")))
        {
            foreach (var k in sd.Keys.Where(k => k.StartsWith("decode_head.", StringComparison.Ordinal)).ToList()) sd.Remove(k);
            // Report the checkpoint's own (mmseg) names.
            droppedDecoder = stateDict.Keys.Where(k => k.StartsWith("decode_head.", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal).ToList();
            notes.Add("the mmseg SegformerHead has BatchNorm+ReLU after each per-stage conv (convs.i.bn), unlike the paper's all-MLP decoder; its decoder was not imported and is initialised fresh");
        }
        // Encoder-only checkpoints (HF SegformerModel / mit-b*) carry "encoder.…" without the "segformer." prefix.
        if (!sd.Keys.Any(k => k.StartsWith("segformer.", StringComparison.Ordinal)) && own.Keys.Any(k => k.StartsWith("segformer.", StringComparison.Ordinal)))
            sd = sd.ToDictionary(kv => kv.Key.StartsWith("encoder.", StringComparison.Ordinal) ? "segformer." + kv.Key : kv.Key, kv => kv.Value);

        var shapeErrors = new List<string>();
        var loaded = new List<string>();
        var reinitialized = new List<string>();
        foreach (var (k, dst) in own)
        {
            if (!sd.TryGetValue(k, out var src)) continue;
            if (!src.shape.SequenceEqual(dst.shape) && reinitializeMismatchedClassifier && IsClassifier(k))
            {
                reinitialized.Add(k);
                notes.Add($"{k}: the checkpoint has shape [{string.Join(", ", src.shape)}], the model [{string.Join(", ", dst.shape)}] (another class count): re-initialised");
            }
            else if (!src.shape.SequenceEqual(dst.shape))
                shapeErrors.Add($"size mismatch for {k}: the checkpoint has shape [{string.Join(", ", src.shape)}], the model has [{string.Join(", ", dst.shape)}]");
            else loaded.Add(k);
        }
        if (shapeErrors.Count > 0) throw new ArgumentException($"cannot load {source} into {model.GetName}:\n\t" + string.Join("\n\t", shapeErrors));

        var hasDecoderInCkpt = sd.Keys.Any(k => k.StartsWith("decode_head.", StringComparison.Ordinal));
        var hasEncoderInCkpt = sd.Keys.Any(k => k.StartsWith("segformer.encoder.", StringComparison.Ordinal));
        var initialized = new List<string>(reinitialized);
        var missing = new List<string>();
        foreach (var k in own.Keys.Where(k => !sd.ContainsKey(k)))
        {
            var explained = k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
                || (k.StartsWith("decode_head.", StringComparison.Ordinal) && !hasDecoderInCkpt && hasEncoderInCkpt)
                || (k.StartsWith("classifier.", StringComparison.Ordinal) && !sd.Keys.Any(x => x.StartsWith("classifier.", StringComparison.Ordinal)) && hasEncoderInCkpt);
            (explained ? initialized : missing).Add(k);
        }
        var ignored = sd.Keys.Where(k => !own.ContainsKey(k)).Concat(droppedDecoder).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unknownIgnored = ignored.Where(k => !IsKnownUnused(k, own) && !droppedDecoder.Contains(k)).ToList();
        if (strict && (missing.Count > 0 || unknownIgnored.Count > 0))
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add("missing key(s): " + string.Join(", ", missing));
            if (unknownIgnored.Count > 0) parts.Add("unexpected key(s): " + string.Join(", ", unknownIgnored));
            throw new ArgumentException($"cannot load {source} into {model.GetName} strictly ({naming} naming): " + string.Join("; ", parts));
        }
        using (no_grad())
        {
            foreach (var k in loaded)
            {
                var src = sd[k];
                var dst = own[k];
                if (src.dtype != dst.dtype) { using var c = src.to(dst.dtype); dst.copy_(c); }
                else dst.copy_(src);
            }
        }
        return new CheckpointLoadReport(source, naming, loaded, initialized, ignored, missing) { notes = notes };
    }

    /// <summary>The per-class output layer of a segmentation or classification model.</summary>
    private static bool IsClassifier(string key) =>
        key.StartsWith("decode_head.classifier.", StringComparison.Ordinal) || key.StartsWith("classifier.", StringComparison.Ordinal);

    /// <summary>Checkpoint keys that are expected to have no place in the model.</summary>
    private static bool IsKnownUnused(string key, IReadOnlyDictionary<string, Tensor> own) =>
        (key.StartsWith("decode_head.linear_fuse.", StringComparison.Ordinal) && own.ContainsKey("decode_head.weights"))
        || (key.StartsWith("classifier.", StringComparison.Ordinal) && !own.Keys.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
        || (key.StartsWith("decode_head.", StringComparison.Ordinal) && !own.Keys.Any(k => k.StartsWith("decode_head.", StringComparison.Ordinal)))
        || key.StartsWith("head.", StringComparison.Ordinal)
        || key.StartsWith("auxiliary_head.", StringComparison.Ordinal);
}
