using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BoostFormer.Profiling;

/// <summary>Renders a <see cref="ProfileReport"/> as Markdown, CSV, JSON or plain text.</summary>
public static class ProfileRenderers
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>"62.34 G"-style formatting (G = 10⁹, M = 10⁶, K = 10³).</summary>
    public static string Human(long v)
    {
        var a = Math.Abs((double)v);
        return a >= 1e9 ? (v / 1e9).ToString("F2", Inv) + " G"
             : a >= 1e6 ? (v / 1e6).ToString("F2", Inv) + " M"
             : a >= 1e3 ? (v / 1e3).ToString("F2", Inv) + " K"
             : v.ToString(Inv);
    }

    /// <summary>The module rows down to <paramref name="maxDepth"/> (null = all).</summary>
    public static IEnumerable<ModuleProfile> Rows(ProfileReport r, int? maxDepth) =>
        r.Modules.Where(m => maxDepth is null || m.Depth <= maxDepth);

    /// <summary>Column headers shared by the table renderers.</summary>
    public static readonly string[] Columns = { "module", "type", "params", "MACs", "conv", "linear", "attention", "other elems" };

    /// <summary>The cells of one row (numbers formatted for humans).</summary>
    public static string[] Cells(ProfileReport r, ModuleProfile m) => new[]
    {
        m.Path.Length == 0 ? "(model)" : m.Path, m.Type, m.Params.ToString("N0", Inv), Human(m.Counts.Macs(r.Convention)),
        Human(m.Counts.Macs(MacKind.Conv)), Human(m.Counts.Macs(MacKind.Linear)), Human(m.Counts.Macs(MacKind.Attention)), Human(m.Counts.OtherTotal),
    };

    /// <summary>Totals lines: params, MACs under the convention, by kind, other elements by category.</summary>
    public static IEnumerable<string> TotalsLines(ProfileReport r)
    {
        yield return $"model: {r.Model}  input: [{string.Join(", ", r.InputShape)}]  convention: {ConventionName(r.Convention)}";
        yield return $"params: {r.Params.ToString("N0", Inv)}";
        yield return $"MACs: {r.Macs.ToString("N0", Inv)} ({(r.Macs / 1e9).ToString("F2", Inv)} GMAC)";
        yield return $"  conv {Human(r.Total.Macs(MacKind.Conv))}, linear {Human(r.Total.Macs(MacKind.Linear))}, attention matmuls {Human(r.Total.Macs(MacKind.Attention))}" +
                     (r.Convention == MacConvention.ConvLinear ? " (not in MACs under this convention)" : "");
        yield return "other ops (elements): " + string.Join(", ", OpCounting.OtherCategories.Where(c => r.Total.Other.ContainsKey(c)).Select(c => $"{c} {Human(r.Total.Other[c])}"));
        yield return "convention: " + r.ConventionText;
    }

    /// <summary>Convention name as used on the command line (<c>all</c>, <c>conv-linear</c>).</summary>
    public static string ConventionName(MacConvention c) => c == MacConvention.All ? "all" : "conv-linear";

    /// <summary>Parses <c>all</c> or <c>conv-linear</c>.</summary>
    public static MacConvention ParseConvention(string s) => s.Trim().ToLowerInvariant() switch
    {
        "all" => MacConvention.All,
        "conv-linear" or "conv+linear" or "thop" => MacConvention.ConvLinear,
        _ => throw new ArgumentException($"--convention must be 'all' or 'conv-linear', got '{s}'"),
    };

    /// <summary>A Markdown table of the modules down to <paramref name="maxDepth"/>, followed by the totals and convention.</summary>
    public static string ToMarkdown(ProfileReport r, int? maxDepth = null)
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", Columns).AppendLine(" |");
        sb.Append('|').AppendJoin("", Columns.Select((_, i) => i < 2 ? "---|" : "---:|")).AppendLine();
        foreach (var m in Rows(r, maxDepth))
            sb.Append("| ").AppendJoin(" | ", Cells(r, m).Select((c, i) => i == 0 ? "`" + c + "`" : c)).AppendLine(" |");
        sb.AppendLine();
        foreach (var l in TotalsLines(r)) sb.AppendLine("- " + l);
        return sb.ToString();
    }

    /// <summary>A fixed-width plain-text table (for non-terminal output), followed by the totals and convention.</summary>
    public static string ToText(ProfileReport r, int? maxDepth = null)
    {
        var rows = Rows(r, maxDepth).Select(m => Cells(r, m)).ToList();
        var w = Columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(row => row[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells) => sb.AppendLine(string.Join("  ", cells.Select((c, i) => i < 2 ? c.PadRight(w[i]) : c.PadLeft(w[i]))).TrimEnd());
        Line(Columns);
        foreach (var row in rows) Line(row);
        sb.AppendLine();
        foreach (var l in TotalsLines(r)) sb.AppendLine(l);
        return sb.ToString();
    }

    /// <summary>CSV with raw numbers (one row per module, all depths); header names the convention of <c>macs</c>.</summary>
    public static string ToCsv(ProfileReport r)
    {
        var sb = new StringBuilder();
        sb.Append("path,type,depth,params,macs_").Append(ConventionName(r.Convention).Replace('-', '_')).Append(",conv_macs,linear_macs,attention_macs");
        foreach (var c in OpCounting.OtherCategories) sb.Append(",other_").Append(c);
        sb.AppendLine();
        foreach (var m in r.Modules)
        {
            sb.Append(Csv(m.Path)).Append(',').Append(Csv(m.Type)).Append(',').Append(m.Depth.ToString(Inv)).Append(',').Append(m.Params.ToString(Inv)).Append(',')
              .Append(m.Counts.Macs(r.Convention).ToString(Inv)).Append(',').Append(m.Counts.Macs(MacKind.Conv).ToString(Inv)).Append(',')
              .Append(m.Counts.Macs(MacKind.Linear).ToString(Inv)).Append(',').Append(m.Counts.Macs(MacKind.Attention).ToString(Inv));
            foreach (var c in OpCounting.OtherCategories) sb.Append(',').Append(m.Counts.Other.GetValueOrDefault(c).ToString(Inv));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>Quotes a CSV field when needed.</summary>
    public static string Csv(string s) => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    /// <summary>JSON with <c>params</c>, <c>macs</c> (under the convention), the breakdowns, the convention text and the module rows down to <paramref name="maxDepth"/>.</summary>
    public static string ToJson(ProfileReport r, int? maxDepth = null)
    {
        JsonObject Counts(ModuleCounts c) => new()
        {
            ["conv"] = c.Macs(MacKind.Conv),
            ["linear"] = c.Macs(MacKind.Linear),
            ["attention"] = c.Macs(MacKind.Attention),
            ["other_elements"] = new JsonObject(OpCounting.OtherCategories.Where(k => c.Other.ContainsKey(k)).Select(k => KeyValuePair.Create(k, (JsonNode?)JsonValue.Create(c.Other[k])))),
        };
        var modules = new JsonArray();
        foreach (var m in Rows(r, maxDepth))
            modules.Add(new JsonObject
            {
                ["path"] = m.Path,
                ["type"] = m.Type,
                ["depth"] = m.Depth,
                ["params"] = m.Params,
                ["macs"] = m.Counts.Macs(r.Convention),
                ["breakdown"] = Counts(m.Counts),
            });
        var o = new JsonObject
        {
            ["model"] = r.Model,
            ["input"] = new JsonArray(r.InputShape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
            ["convention"] = ConventionName(r.Convention),
            ["convention_text"] = r.ConventionText,
            ["params"] = r.Params,
            ["macs"] = r.Macs,
            ["gmacs"] = Math.Round(r.Macs / 1e9, 4),
            ["macs_all"] = r.AllMacs,
            ["macs_conv_linear"] = r.ConvLinearMacs,
            ["breakdown"] = Counts(r.Total),
            ["modules"] = modules,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
