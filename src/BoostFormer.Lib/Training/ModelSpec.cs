using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using BoostFormer.Models;

namespace BoostFormer.Training;

/// <summary>
/// The model a job trains — a full <see cref="SegformerConfig"/> — with the name tables and logs show. A model name
/// (<c>segformer-b0</c>, <c>boostformer-b2</c>, …) is a shorthand for <see cref="SegformerConfig.FromName"/>; a
/// <c>config.json</c> (<see cref="FromFile"/>) gives any ablation variant. Runs and checkpoints store <see cref="ToJson"/>
/// (the config's own JSON plus <c>"model": name</c>), so a checkpoint alone rebuilds the model it holds
/// (<see cref="FromRecord"/>); records written before the config was stored (<c>{model, num_labels, drop_path_rate}</c>)
/// rebuild from the name.
/// </summary>
public sealed record ModelSpec(string Name, SegformerConfig Config)
{
    /// <summary>A model name as a spec (<see cref="FromName"/>), so jobs accept <c>Model = "segformer-b0"</c>; null stays null.</summary>
    [return: NotNullIfNotNull(nameof(name))]
    public static implicit operator ModelSpec?(string? name) => name is null ? null : FromName(name);

    /// <summary>The named architecture (<see cref="SegformerConfig.FromName"/>) with <paramref name="numLabels"/> classes.</summary>
    public static ModelSpec FromName(string name, int numLabels = 150) => new(name, SegformerConfig.FromName(name, numLabels));

    /// <summary>
    /// A config file (<see cref="SegformerConfig.FromJson"/>: ours, a parity fixture's or Hugging Face's); the name is its
    /// <c>"model"</c> field, else the file name without extension.
    /// </summary>
    public static ModelSpec FromFile(string path)
    {
        var config = SegformerConfig.FromJson(path);
        var name = JsonNode.Parse(File.ReadAllText(path)) is JsonObject o && o["model"] is JsonValue v && v.TryGetValue<string>(out var n) && n.Length > 0
            ? n : Path.GetFileNameWithoutExtension(path);
        return new ModelSpec(name, config);
    }

    /// <summary>The same model with <paramref name="numLabels"/> classes (the dataset decides the head).</summary>
    public ModelSpec WithLabels(int numLabels) => Config.num_labels == numLabels ? this : this with { Config = Config with { num_labels = numLabels } };

    /// <summary>The same model with stochastic depth <paramref name="dropPathRate"/>, or unchanged when null.</summary>
    public ModelSpec WithDropPath(double? dropPathRate) => dropPathRate is { } r ? this with { Config = Config with { drop_path_rate = r } } : this;

    /// <summary>The JSON stored with runs and checkpoints: <c>{"model": name, …the config's fields}</c>.</summary>
    public string ToJson()
    {
        var o = new JsonObject { ["model"] = Name };
        foreach (var (key, value) in Config.ToJsonObject().ToList()) o[key] = value?.DeepClone();
        return o.ToJsonString();
    }

    /// <summary>
    /// The model a run or checkpoint recorded (<see cref="ToJson"/>, or the older <c>{model, num_labels, drop_path_rate}</c>),
    /// or null when the JSON names no model (a foreign checkpoint, a model that is not a SegFormer).
    /// </summary>
    public static ModelSpec? FromRecord(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        JsonObject o;
        try
        {
            if (JsonNode.Parse(json) is not JsonObject parsed) return null;
            o = parsed;
        }
        catch (JsonException) { return null; }
        if (o["model"] is not JsonValue m || !m.TryGetValue<string>(out var name) || name.Length == 0) return null;
        if (o.ContainsKey(nameof(SegformerConfig.hidden_sizes))) return new ModelSpec(name, SegformerConfig.FromJsonObject(o));
        // The record of runs and checkpoints written before the full configuration was stored.
        var labels = o["num_labels"] is JsonValue l ? l.GetValue<int>() : 150;
        return FromName(name, labels).WithDropPath(o["drop_path_rate"] is JsonValue d ? d.GetValue<double>() : null);
    }

    /// <summary>
    /// True when two recorded model configurations describe the same model: equal strings, or the same model once both are
    /// read (so a run recorded in the older short form matches the same model recorded in full).
    /// </summary>
    public static bool SameRecord(string a, string b) => a == b || (Canonical(a) is { } ca && ca == Canonical(b));

    private static string? Canonical(string json)
    {
        try { return FromRecord(json)?.ToJson(); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or JsonException) { return null; }
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
