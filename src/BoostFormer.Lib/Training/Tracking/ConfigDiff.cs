using System.Text.Json;
using System.Text.Json.Nodes;

namespace BoostFormer.Training.Tracking;

/// <summary>The differences between two recorded configurations (flat JSON objects), as readable <c>key: old → new</c> items.</summary>
public static class ConfigDiff
{
    /// <summary>
    /// One item per top-level key whose value differs between <paramref name="before"/> and <paramref name="after"/>
    /// (missing counts as null), each prefixed with <paramref name="prefix"/>; empty when they are equal.
    /// </summary>
    public static IReadOnlyList<string> Changes(string before, string after, string prefix)
    {
        if (before == after) return Array.Empty<string>();
        JsonObject a, b;
        try
        {
            a = JsonNode.Parse(before) as JsonObject ?? new JsonObject();
            b = JsonNode.Parse(after) as JsonObject ?? new JsonObject();
        }
        catch (JsonException) { return new[] { $"{prefix}configuration: {before} → {after}" }; }
        var changes = new List<string>();
        foreach (var key in a.Select(kv => kv.Key).Union(b.Select(kv => kv.Key)))
        {
            var x = a[key]; var y = b[key];
            if (JsonNode.DeepEquals(x, y)) continue;
            changes.Add($"{prefix}{key} {Show(x)} → {Show(y)}");
        }
        return changes;
    }

    private static string Show(JsonNode? v) => v is null ? "null" : v.ToJsonString();
}
