using System.Text.Json;
using System.Text.Json.Nodes;
using Plotly.NET;
using Plotly.NET.CSharp;
using PChart = Plotly.NET.CSharp.Chart;

namespace BoostFormer.Plotly;

/// <summary>
/// Builds a Plotly.NET chart with its C# API from a chart specification (JSON written by BoostFormer.Lib's <c>Chart</c>:
/// traces — kind line|scatter|bar|heatmap, x, y, name, color, markers, categories, z, xLabels, yLabels — and title,
/// xTitle, yTitle, width, height, logX, logY, xRange, yRange, legend) and returns the Plotly figure JSON. Called by
/// reflection from a private load context (see the project file); it takes and returns strings only.
/// </summary>
public static class PlotlyFigures
{
    private static Optional<T> Opt<T>(T? value) where T : class => value is null ? default : new Optional<T>(value, true);

    private static double[] Doubles(JsonNode? n) => n is JsonArray a ? a.Select(v => v is null ? double.NaN : v.GetValue<double>()).ToArray() : Array.Empty<double>();

    private static string[]? Strings(JsonNode? n) => n is JsonArray a ? a.Select(v => v?.GetValue<string>() ?? "").ToArray() : null;

    private static Optional<Tuple<double, double>> Range(JsonNode? n, bool log) =>
        n is JsonArray { Count: 2 } a
            ? new Optional<Tuple<double, double>>(log ? Tuple.Create(Math.Log10(a[0]!.GetValue<double>()), Math.Log10(a[1]!.GetValue<double>())) : Tuple.Create(a[0]!.GetValue<double>(), a[1]!.GetValue<double>()), true)
            : default;

    /// <summary>The Plotly.NET chart of a specification.</summary>
    public static GenericChart Build(string specJson)
    {
        var spec = JsonNode.Parse(specJson)!.AsObject();
        var traces = spec["traces"]!.AsArray();
        bool legend = spec["legend"]?.GetValue<bool>() ?? false;
        var parts = new List<GenericChart>();
        foreach (var t in traces.Select(x => x!.AsObject()))
        {
            var name = t["name"]?.GetValue<string>();
            bool show = legend && name is not null;
            var color = Color.fromString(t["color"]!.GetValue<string>());
            var label = name ?? "";
            parts.Add(t["kind"]!.GetValue<string>() switch
            {
                "line" => PChart.Line<double, double, string>(Doubles(t["x"]), Doubles(t["y"]), ShowMarkers: t["markers"]?.GetValue<bool>() ?? false, Name: label, ShowLegend: show, MarkerColor: color, LineColor: color),
                "scatter" => PChart.Point<double, double, string>(Doubles(t["x"]), Doubles(t["y"]), Name: label, ShowLegend: show, MarkerColor: color),
                "bar" => PChart.Column<double, string, string>(Doubles(t["y"]), Keys: new Optional<IEnumerable<string>>(Strings(t["categories"])!, true), Name: label, ShowLegend: show, MarkerColor: color),
                "heatmap" => PChart.Heatmap<double, string, string, string>(
                    t["z"]!.AsArray().Select(Doubles).ToArray(),
                    X: Strings(t["xLabels"]) is { } xl ? new Optional<IEnumerable<string>>(xl, true) : default,
                    Y: Strings(t["yLabels"]) is { } yl ? new Optional<IEnumerable<string>>(yl, true) : default,
                    Name: label, ColorScale: StyleParam.Colorscale.Viridis, ReverseYAxis: true),
                var k => throw new ArgumentException($"unknown trace kind '{k}'"),
            });
        }
        var chart = parts.Count == 1 ? parts[0] : PChart.Combine(parts);
        bool logX = spec["logX"]?.GetValue<bool>() ?? false, logY = spec["logY"]?.GetValue<bool>() ?? false;
        chart = chart.WithXAxisStyle<double, double, string>(TitleText: Opt(spec["xTitle"]?.GetValue<string>()), AxisType: logX ? StyleParam.AxisType.Log : default(Optional<StyleParam.AxisType>), MinMax: Range(spec["xRange"], logX));
        chart = chart.WithYAxisStyle<double, double, string>(TitleText: Opt(spec["yTitle"]?.GetValue<string>()), AxisType: logY ? StyleParam.AxisType.Log : default(Optional<StyleParam.AxisType>), MinMax: Range(spec["yRange"], logY));
        if (spec["title"]?.GetValue<string>() is { } title) chart = global::Plotly.NET.Chart.withTitle(title, null).Invoke(chart);
        return chart.WithSize(spec["width"]!.GetValue<int>(), spec["height"]!.GetValue<int>());
    }

    /// <summary>The Plotly figure JSON (<c>data</c>, <c>layout</c>) of a specification; non-finite values become null (gaps).</summary>
    public static string FigureJson(string specJson) => GenericChart.toFigureJson(Build(specJson))
        .Replace("\"NaN\"", "null", StringComparison.Ordinal).Replace("\"Infinity\"", "null", StringComparison.Ordinal).Replace("\"-Infinity\"", "null", StringComparison.Ordinal);

    /// <summary>plotly.js as embedded in Plotly.NET: <c>[file name, source]</c>.</summary>
    public static string[] PlotlyJs()
    {
        var asm = typeof(GenericChart).Assembly;
        var name = asm.GetManifestResourceNames().Single(n => n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal));
        using var s = asm.GetManifestResourceStream(name)!;
        using var r = new StreamReader(s);
        return new[] { name["Plotly.NET.".Length..], r.ReadToEnd() };
    }
}
