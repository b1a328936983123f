using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BoostFormer.Data;
using BoostFormer.IO;
using BoostFormer.Models;
using BoostFormer.Training.Checkpoints;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>What <see cref="WeightsExport.Export"/> wrote.</summary>
/// <param name="WeightsPath">The weights file (<c>&lt;run&gt;.safetensors</c>).</param>
/// <param name="ConfigPath">The configuration beside it (<c>&lt;run&gt;.config.json</c>).</param>
/// <param name="Bytes">Size of the weights file.</param>
/// <param name="Tensors">Tensors stored.</param>
/// <param name="Run">The run name recorded in the metadata.</param>
/// <param name="Model">The architecture.</param>
/// <param name="HuggingFaceConfig">True when the config is a Hugging Face <c>SegformerConfig</c> (the model is a plain SegFormer).</param>
public sealed record WeightsExportResult(string WeightsPath, string ConfigPath, long Bytes, int Tensors, string Run, ModelSpec Model, bool HuggingFaceConfig);

/// <summary>
/// Turns a training checkpoint into shippable weights: <c>results/weights/&lt;run&gt;.safetensors</c> holds only the model's
/// state dict (Hugging Face key names; no optimizer, no auxiliary head; BatchNorm's <c>num_batches_tracked</c> kept as
/// in Hugging Face's <c>SegformerForSemanticSegmentation.state_dict()</c>), floating tensors cast to bf16/fp16/fp32 and
/// integer buffers kept, with the model configuration and the provenance in <c>__metadata__</c> so that
/// <see cref="TrainedModels.Load"/> rebuilds the model from the file alone. Beside it, <c>&lt;run&gt;.config.json</c>: a
/// Hugging Face <c>SegformerConfig</c> for a plain SegFormer (the pair loads with transformers'
/// <c>SegformerForSemanticSegmentation.from_pretrained</c>), or this workbook's own configuration for BoostFormer and other
/// variants (which transformers cannot build).
/// </summary>
public static class WeightsExport
{
    private static readonly JsonSerializerOptions InfoJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The <c>boostformer_format</c> metadata value of exported weights.</summary>
    public const string Format = "boostformer-weights-v1";

    /// <summary>Metadata keys of an exported file (besides <c>format</c> = <c>pt</c>, which transformers requires, and <c>info</c>, the <see cref="CheckpointInfo"/>).</summary>
    public static class Keys
    {
        public const string FormatKey = "boostformer_format", Run = "run", RunId = "run_id", Model = "model", Iteration = "iteration",
            ValidationMIoU = "best_val_miou", IsBest = "is_best_checkpoint", Source = "source_checkpoint", Dataset = "dataset",
            ClassNames = "class_names", DType = "dtype", Exported = "exported_utc",
            // From the tracking database (optional): the run's training iterations, wall time, mean training throughput and last val mIoU.
            Iterations = "iterations", WallMinutes = "wall_minutes", ImagesPerSecond = "images_per_second", FinalValidationMIoU = "final_val_miou";
    }

    /// <summary>The element type for <c>bf16</c>, <c>fp16</c> or <c>fp32</c> (also <c>bfloat16</c>, <c>float16</c>, <c>float32</c>).</summary>
    public static ScalarType ParseDType(string dtype) => dtype.Trim().ToLowerInvariant() switch
    {
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        "fp16" or "f16" or "float16" or "half" => ScalarType.Float16,
        "fp32" or "f32" or "float32" or "float" => ScalarType.Float32,
        _ => throw new ArgumentException($"--dtype must be bf16, fp16 or fp32, got '{dtype}'"),
    };

    /// <summary>The <c>&lt;run&gt;.config.json</c> written beside weights file <paramref name="weights"/>.</summary>
    public static string ConfigPathFor(string weights)
    {
        var full = Path.GetFullPath(weights);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".config.json");
    }

    /// <summary>
    /// Exports the model of training checkpoint <paramref name="checkpoint"/> to <paramref name="output"/> (a
    /// <c>.safetensors</c> path) in <paramref name="dtype"/>, with <c>&lt;run&gt;.config.json</c> beside it.
    /// <paramref name="run"/> defaults to the output's file name; <paramref name="dataset"/> names the class names recorded
    /// (its class count must be the model's). An existing output of another run (another name or run id, or not an
    /// exported file) is replaced only with <paramref name="force"/>. With <paramref name="database"/> (the run's tracking
    /// database), the run's iterations, wall minutes, images/s and last and best validation mIoU are recorded too. Bad input is an <see cref="ArgumentException"/>,
    /// <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static WeightsExportResult Export(string checkpoint, string output, ScalarType dtype = ScalarType.BFloat16, string? run = null,
        string dataset = "camvid", bool force = false, string? database = null)
    {
        if (dtype is not (ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float32))
            throw new ArgumentException($"weights are exported as bf16, fp16 or fp32, not {dtype}", nameof(dtype));
        if (!output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--output {output}: must be a .safetensors file (results/weights/<run>.safetensors)");
        if (Directory.Exists(checkpoint)) throw new ArgumentException($"--checkpoint {checkpoint}: is a folder; pass a checkpoint file (e.g. <run folder>/best.safetensors)");
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"--checkpoint {checkpoint}: file not found", checkpoint);
        var info = CheckpointManager.ReadInfo(checkpoint)
            ?? throw new InvalidDataException($"--checkpoint {checkpoint}: not a training checkpoint of this workbook (no 'info' metadata)");
        var spec = ModelSpec.FromRecord(info.ConfigJson)
            ?? throw new InvalidDataException($"--checkpoint {checkpoint}: records no model configuration");
        var definition = Datasets.Get(dataset, DatasetKind.Segmentation);
        // The synthetic scenes have as many classes as asked for: the model's.
        var classes = (definition == Datasets.Synthetic ? DatasetInfo.Synthetic(spec.Config.num_labels) : definition.Info)?.ClassNames
            ?? throw new ArgumentException($"--dataset {dataset}: has no fixed class names");
        if (classes.Count != spec.Config.num_labels)
            throw new ArgumentException($"--dataset {dataset}: has {classes.Count} classes but {checkpoint} predicts {spec.Config.num_labels}");
        run ??= Path.GetFileNameWithoutExtension(output);
        if (string.IsNullOrWhiteSpace(run)) throw new ArgumentException($"--output {output}: has no file name to name the run after; pass --name");
        var configPath = ConfigPathFor(output);
        if (!force)
        {
            RefuseOverwrite(output, run, info.RunId);
            if (File.Exists(configPath) && !File.Exists(output))
                throw new ArgumentException($"--output {output}: {configPath} exists without its weights file; pass --force to replace it");
        }

        var tracked = database is null ? null : Tracked(database, info.RunId, checkpoint);
        using var loaded = TrainedModels.Load(checkpoint);
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (k, v) in loaded.Model.state_dict())
            tensors[k] = v.is_floating_point() && v.dtype != dtype ? v.detach().to(dtype) : v.detach();

        var hfConfig = HuggingFaceConfig(spec, classes, dtype);
        var hf = hfConfig is not null;
        var configJson = (hfConfig ?? OwnConfig(spec, classes)).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var metadata = new Dictionary<string, string>
        {
            // transformers' from_pretrained refuses safetensors whose "format" is not pt/tf/flax/mlx.
            ["format"] = "pt",
            [Keys.FormatKey] = Format,
            ["info"] = JsonSerializer.Serialize(info with { ConfigJson = spec.ToJson() }, InfoJson),
            [Keys.Run] = run,
            [Keys.Model] = spec.Name,
            [Keys.Iteration] = info.Iteration.ToString(CultureInfo.InvariantCulture),
            [Keys.IsBest] = IsBestCheckpoint(checkpoint) ? "true" : "false",
            [Keys.Source] = SourceName(checkpoint),
            [Keys.Dataset] = dataset,
            [Keys.ClassNames] = JsonSerializer.Serialize(classes),
            [Keys.DType] = dtype == ScalarType.BFloat16 ? "bf16" : dtype == ScalarType.Float16 ? "fp16" : "fp32",
            [Keys.Exported] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        if (info.RunId is { } id) metadata[Keys.RunId] = id.ToString(CultureInfo.InvariantCulture);
        if (double.IsFinite(info.BestMetric)) metadata[Keys.ValidationMIoU] = info.BestMetric.ToString("R", CultureInfo.InvariantCulture);
        if (tracked is not null)
        {
            metadata[Keys.Iterations] = tracked.Iterations.ToString(CultureInfo.InvariantCulture);
            foreach (var (key, value) in new[] { (Keys.WallMinutes, tracked.WallMinutes), (Keys.ImagesPerSecond, tracked.ImagesPerSecond),
                         (Keys.FinalValidationMIoU, tracked.FinalValMIoU ?? double.NaN), (Keys.ValidationMIoU, tracked.BestValMIoU ?? double.NaN) })
                if (double.IsFinite(value)) metadata[key] = value.ToString("R", CultureInfo.InvariantCulture);
        }

        var outFull = Path.GetFullPath(output);
        Safetensors.Save(outFull, tensors, metadata);
        AtomicFile.WriteAllText(configPath, configJson + "\n");
        return new WeightsExportResult(outFull, configPath, new FileInfo(outFull).Length, tensors.Count, run, spec, hf);
    }

    /// <summary>The run of the checkpoint in tracking database <paramref name="database"/> (<see cref="Tracking.RunReport.Rows"/>).</summary>
    private static Tracking.RunReportRow Tracked(string database, long? runId, string checkpoint)
    {
        if (!File.Exists(database)) throw new FileNotFoundException($"--db {database}: file not found", database);
        if (runId is not { } id) throw new ArgumentException($"--db {database}: {checkpoint} records no run id to look up");
        using var store = Tracking.RunStore.Open(database);
        if (store.Run(id) is null) throw new ArgumentException($"--db {database}: has no run {id} (the run of {checkpoint}); is it the run's database?");
        return Tracking.RunReport.Rows(store, new[] { id })[0];
    }

    /// <summary>True for a run's best checkpoint (<c>best.safetensors</c>), whose recorded best mIoU is its own.</summary>
    private static bool IsBestCheckpoint(string checkpoint) => Path.GetFileName(checkpoint).Equals("best.safetensors", StringComparison.OrdinalIgnoreCase);

    /// <summary>The checkpoint's name with its run folders (<c>segformer-b0-camvid-full/run-3/best.safetensors</c>), not the machine's absolute path.</summary>
    private static string SourceName(string checkpoint)
    {
        var full = Path.GetFullPath(checkpoint);
        var parts = new List<string> { Path.GetFileName(full) };
        var dir = Path.GetDirectoryName(full);
        if (dir is not null && Path.GetFileName(dir).StartsWith("run-", StringComparison.Ordinal))
        {
            parts.Insert(0, Path.GetFileName(dir));
            if (Path.GetDirectoryName(dir) is { } parent) parts.Insert(0, Path.GetFileName(parent));
        }
        return string.Join('/', parts);
    }

    private static void RefuseOverwrite(string output, string run, long? runId)
    {
        if (Directory.Exists(output)) throw new ArgumentException($"--output {output}: is a folder, not a file");
        if (!File.Exists(output)) return;
        IReadOnlyDictionary<string, string> meta;
        try { meta = Safetensors.ReadMetadata(output); }
        catch (Exception e) when (e is InvalidDataException or IOException)
        { throw new ArgumentException($"--output {output}: exists and is not an exported weights file; pass --force to replace it"); }
        if (!meta.TryGetValue(Keys.FormatKey, out var f) || f != Format)
            throw new ArgumentException($"--output {output}: exists and is not an exported weights file; pass --force to replace it");
        meta.TryGetValue(Keys.Run, out var oldRun);
        meta.TryGetValue(Keys.RunId, out var oldId);
        var newId = runId?.ToString(CultureInfo.InvariantCulture);
        if (oldRun != run || oldId != newId)
            throw new ArgumentException($"--output {output}: holds the weights of another run ({oldRun ?? "?"}, run id {oldId ?? "none"}; this is {run}, run id {newId ?? "none"}); pass --force to replace it");
    }

    /// <summary>
    /// The Hugging Face <c>SegformerConfig</c> of <paramref name="spec"/> (with <c>id2label</c>/<c>label2id</c>), or null when
    /// the model is not a plain SegFormer: the criterion is that the JSON, read back by <see cref="SegformerConfig.FromJsonObject"/>,
    /// gives the same configuration (every BoostFormer switch and zoo module at its SegFormer setting).
    /// </summary>
    public static JsonObject? HuggingFaceConfig(ModelSpec spec, IReadOnlyList<string> classes, ScalarType dtype = ScalarType.Float32)
    {
        var c = spec.Config;
        static JsonArray Ints(int[] a) => new(a.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < classes.Count; i++) { id2label[i.ToString(CultureInfo.InvariantCulture)] = classes[i]; label2id[classes[i]] = i; }
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray("SegformerForSemanticSegmentation"),
            ["model_type"] = "segformer",
            ["num_channels"] = c.num_channels,
            ["num_encoder_blocks"] = c.num_encoder_blocks,
            ["depths"] = Ints(c.depths),
            ["sr_ratios"] = Ints(c.sr_ratios),
            ["hidden_sizes"] = Ints(c.hidden_sizes),
            ["patch_sizes"] = Ints(c.patch_sizes),
            ["strides"] = Ints(c.strides),
            ["num_attention_heads"] = Ints(c.num_attention_heads),
            ["mlp_ratios"] = Ints(c.mlp_ratios),
            ["hidden_act"] = c.hidden_act,
            ["hidden_dropout_prob"] = c.hidden_dropout_prob,
            ["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob,
            ["classifier_dropout_prob"] = c.classifier_dropout_prob,
            ["drop_path_rate"] = c.drop_path_rate,
            ["initializer_range"] = c.initializer_range,
            // Hugging Face's modules use nn.LayerNorm's default 1e-5 whatever this says (FromJsonObject ignores it too).
            ["layer_norm_eps"] = c.layer_norm_eps,
            ["decoder_hidden_size"] = c.decoder_hidden_size,
            ["semantic_loss_ignore_index"] = c.semantic_loss_ignore_index,
            ["reshape_last_stage"] = true,
            ["id2label"] = id2label,
            ["label2id"] = label2id,
            ["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : dtype == ScalarType.Float16 ? "float16" : "float32",
        };
        var back = SegformerConfig.FromJsonObject(o);
        return back.ToJson() == c.ToJson() ? o : null;
    }

    /// <summary>This workbook's configuration JSON (<see cref="ModelSpec.ToJson"/>) with the class names, and a note that transformers cannot build it.</summary>
    public static JsonObject OwnConfig(ModelSpec spec, IReadOnlyList<string> classes)
    {
        var o = new JsonObject
        {
            ["_note"] = $"BoostFormer workbook configuration of {spec.Name} (family {(spec.Config.IsBoostFormer ? "boostformer" : "segformer")}). " +
                "Not a Hugging Face config: transformers has no model for it. Read it with SegformerConfig.FromJson / ModelSpec.FromFile.",
        };
        foreach (var (k, v) in JsonNode.Parse(spec.ToJson())!.AsObject().ToList()) o[k] = v?.DeepClone();
        var id2label = new JsonObject();
        for (int i = 0; i < classes.Count; i++) id2label[i.ToString(CultureInfo.InvariantCulture)] = classes[i];
        o["id2label"] = id2label;
        return o;
    }
}
