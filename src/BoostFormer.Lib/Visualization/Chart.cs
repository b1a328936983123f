using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace BoostFormer.Visualization;

/// <summary>Kind of a chart trace.</summary>
public enum TraceKind
{
    /// <summary>Points joined by lines (numeric x).</summary>
    Line,
    /// <summary>Markers only (numeric x).</summary>
    Scatter,
    /// <summary>Bars over categories (grouped when several bar traces are combined).</summary>
    Bar,
    /// <summary>A matrix of values drawn as coloured cells (viridis) with a colour bar; row 0 at the top.</summary>
    Heatmap,
}

/// <summary>One data series of a <see cref="Chart"/>.</summary>
public sealed record Trace(TraceKind Kind, double[] X, double[] Y, string? Name = null, string? Color = null, bool Markers = false,
    IReadOnlyList<string>? Categories = null, double[,]? Z = null, IReadOnlyList<string>? XLabels = null, IReadOnlyList<string>? YLabels = null);

/// <summary>
/// Charts on Plotly.NET: build one with <see cref="Line{TX,TY}"/>, <see cref="Scatter{TX,TY}"/>, <see cref="Bar{T}"/> or
/// <see cref="Heatmap(double[,], IEnumerable{string}?, IEnumerable{string}?, string?)"/>, style it fluently
/// (<c>.WithTitle(..)</c>, <c>.WithXTitle(..)</c>, <c>.WithSize(..)</c>, <c>.WithLogY()</c>) and overlay several with
/// <see cref="Combine(Chart[])"/>. Charts are immutable: every <c>With…</c> returns a new chart. The figure is built by
/// Plotly.NET's C# API (BoostFormer.Plotly, run in a private load context: <see cref="PlotlyContext"/>);
/// <see cref="ToFigureJson"/> is the Plotly figure.
/// A chart displays as <c>text/html</c> — a static PNG (rendered once by plotly.js in a local Chromium,
/// <see cref="ChromiumChartRenderer"/>) that a small script replaces by the live, zoomable plotly.js chart wherever
/// plotly.js is already on the page (the published site, a Jupyter page with Plotly's AMD module) — plus the same PNG as
/// <c>image/png</c> for viewers that run no scripts (GitHub, nbconvert) and a <c>text/plain</c> summary. It never loads
/// anything from the network.
/// </summary>
[TypeFormatterSource(typeof(RichOutputFormatterSource), PreferredMimeTypes = new[] { MimeTypes.Html, MimeTypes.Png, MimeTypes.Plain })]
public sealed class Chart : RichOutput
{
    /// <summary>Default trace colours (Plotly's qualitative palette).</summary>
    public static readonly string[] DefaultColors =
        { "#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880", "#ff97ff", "#fecb52" };

    private Chart(IReadOnlyList<Trace> traces, string? title = null, string? xTitle = null, string? yTitle = null, int width = 640, int height = 400,
        bool logX = false, bool logY = false, bool? legend = null, (double, double)? xRange = null, (double, double)? yRange = null)
    {
        Traces = traces;
        Title = title; XTitle = xTitle; YTitle = yTitle; Width = width; Height = height; LogX = logX; LogY = logY; ShowLegend = legend;
        XRange = xRange; YRange = yRange;
    }

    /// <summary>The data series.</summary>
    public IReadOnlyList<Trace> Traces { get; }
    /// <summary>Chart title.</summary>
    public string? Title { get; }
    /// <summary>x-axis title.</summary>
    public string? XTitle { get; }
    /// <summary>y-axis title.</summary>
    public string? YTitle { get; }
    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }
    /// <summary>Logarithmic x axis.</summary>
    public bool LogX { get; }
    /// <summary>Logarithmic y axis.</summary>
    public bool LogY { get; }
    /// <summary>Legend on/off; null = shown when there are several named traces.</summary>
    public bool? ShowLegend { get; }
    /// <summary>Fixed x range (null = from the data).</summary>
    public (double Min, double Max)? XRange { get; }
    /// <summary>Fixed y range (null = from the data).</summary>
    public (double Min, double Max)? YRange { get; }

    private Chart With(IReadOnlyList<Trace>? traces = null, string? title = null, string? xTitle = null, string? yTitle = null, int? width = null,
        int? height = null, bool? logX = null, bool? logY = null, bool? legend = null, (double, double)? xRange = null, (double, double)? yRange = null) =>
        new(traces ?? Traces, title ?? Title, xTitle ?? XTitle, yTitle ?? YTitle, width ?? Width, height ?? Height, logX ?? LogX, logY ?? LogY,
            legend ?? ShowLegend, xRange ?? XRange, yRange ?? YRange);

    // ------------------------------------------------------------------ constructors
    private static double[] D<T>(IEnumerable<T> v) where T : INumberBase<T> => v.Select(double.CreateChecked).ToArray();

    private static Chart Xy(TraceKind kind, double[] x, double[] y, string? name, bool markers)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Chart.{kind}: x has {x.Length} values but y has {y.Length}", nameof(y));
        return new Chart(new[] { new Trace(kind, x, y, name, Markers: markers) });
    }

    /// <summary>A line through the points (x[i], y[i]).</summary>
    public static Chart Line<TX, TY>(IEnumerable<TX> x, IEnumerable<TY> y, string? name = null, bool markers = false)
        where TX : INumberBase<TX> where TY : INumberBase<TY> => Xy(TraceKind.Line, D(x), D(y), name, markers);

    /// <summary>A line through (i, y[i]), i = 0, 1, ….</summary>
    public static Chart Line<TY>(IEnumerable<TY> y, string? name = null, bool markers = false) where TY : INumberBase<TY>
    {
        var yy = D(y);
        return Xy(TraceKind.Line, Enumerable.Range(0, yy.Length).Select(i => (double)i).ToArray(), yy, name, markers);
    }

    /// <summary>Markers at the points (x[i], y[i]).</summary>
    public static Chart Scatter<TX, TY>(IEnumerable<TX> x, IEnumerable<TY> y, string? name = null)
        where TX : INumberBase<TX> where TY : INumberBase<TY> => Xy(TraceKind.Scatter, D(x), D(y), name, true);

    /// <summary>One bar per category.</summary>
    public static Chart Bar<T>(IEnumerable<string> categories, IEnumerable<T> values, string? name = null) where T : INumberBase<T>
    {
        var c = categories.ToArray();
        var v = D(values);
        if (c.Length != v.Length) throw new ArgumentException($"Chart.Bar: {c.Length} categories but {v.Length} values", nameof(values));
        return new Chart(new[] { new Trace(TraceKind.Bar, Enumerable.Range(0, c.Length).Select(i => (double)i).ToArray(), v, name, Categories: c) });
    }

    /// <summary>
    /// A heatmap of <paramref name="z"/> (rows × columns; row 0 at the top, like an image or a confusion matrix), with
    /// optional column (<paramref name="xLabels"/>) and row (<paramref name="yLabels"/>) labels; hovering a cell shows its value.
    /// </summary>
    public static Chart Heatmap(double[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null, string? name = null)
    {
        int rows = z.GetLength(0), cols = z.GetLength(1);
        if (rows == 0 || cols == 0) throw new ArgumentException("Chart.Heatmap: z is empty", nameof(z));
        var xl = xLabels?.ToArray();
        var yl = yLabels?.ToArray();
        if (xl is not null && xl.Length != cols) throw new ArgumentException($"Chart.Heatmap: {xl.Length} x labels for {cols} columns", nameof(xLabels));
        if (yl is not null && yl.Length != rows) throw new ArgumentException($"Chart.Heatmap: {yl.Length} y labels for {rows} rows", nameof(yLabels));
        return new Chart(new[] { new Trace(TraceKind.Heatmap, Array.Empty<double>(), Array.Empty<double>(), name, Z: z, XLabels: xl, YLabels: yl) });
    }

    /// <summary>Heatmap from a jagged array (rows of equal length).</summary>
    public static Chart Heatmap(IReadOnlyList<IReadOnlyList<double>> z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null)
    {
        int cols = z.Count == 0 ? 0 : z[0].Count;
        var m = new double[z.Count, cols];
        for (int i = 0; i < z.Count; i++)
        {
            if (z[i].Count != cols) throw new ArgumentException($"Chart.Heatmap: row {i} has {z[i].Count} values, row 0 has {cols}", nameof(z));
            for (int j = 0; j < cols; j++) m[i, j] = z[i][j];
        }
        return Heatmap(m, xLabels, yLabels);
    }

    /// <summary>
    /// Overlays charts on one set of axes; the titles and options of the first chart that sets them win. Bars combine
    /// with bars (grouped), lines with scatters; a heatmap cannot be combined.
    /// </summary>
    public static Chart Combine(IEnumerable<Chart> charts)
    {
        var list = charts.ToList();
        if (list.Count == 0) throw new ArgumentException("Chart.Combine needs at least one chart", nameof(charts));
        var traces = list.SelectMany(c => c.Traces).ToList();
        bool bars = traces.Any(t => t.Kind == TraceKind.Bar), xy = traces.Any(t => t.Kind is TraceKind.Line or TraceKind.Scatter);
        if (traces.Count(t => t.Kind == TraceKind.Heatmap) > 0 && traces.Count > 1) throw new ArgumentException("Chart.Combine: a heatmap cannot be combined with other traces", nameof(charts));
        if (bars && xy) throw new ArgumentException("Chart.Combine: bar traces (categorical x) cannot be combined with line/scatter traces (numeric x)", nameof(charts));
        if (bars)
        {
            var cats = traces[0].Categories!;
            foreach (var t in traces)
                if (!t.Categories!.SequenceEqual(cats)) throw new ArgumentException("Chart.Combine: bar traces must share the same categories", nameof(charts));
        }
        var first = list[0];
        return new Chart(traces, list.Select(c => c.Title).FirstOrDefault(t => t != null), list.Select(c => c.XTitle).FirstOrDefault(t => t != null),
            list.Select(c => c.YTitle).FirstOrDefault(t => t != null), first.Width, first.Height, list.Any(c => c.LogX), list.Any(c => c.LogY),
            list.Select(c => c.ShowLegend).FirstOrDefault(l => l != null), list.Select(c => c.XRange).FirstOrDefault(r => r != null),
            list.Select(c => c.YRange).FirstOrDefault(r => r != null));
    }

    /// <summary>Overlays charts on one set of axes.</summary>
    public static Chart Combine(params Chart[] charts) => Combine((IEnumerable<Chart>)charts);

    // ------------------------------------------------------------------ fluent styling
    /// <summary>Sets the title.</summary>
    public Chart WithTitle(string title) => With(title: title);
    /// <summary>Sets the x-axis title.</summary>
    public Chart WithXTitle(string title) => With(xTitle: title);
    /// <summary>Sets the y-axis title.</summary>
    public Chart WithYTitle(string title) => With(yTitle: title);
    /// <summary>Sets both axis titles.</summary>
    public Chart WithAxisTitles(string x, string y) => With(xTitle: x, yTitle: y);
    /// <summary>Sets the size in pixels.</summary>
    public Chart WithSize(int width, int height)
    {
        if (width < 120 || height < 80) throw new ArgumentOutOfRangeException(nameof(width), $"chart size must be at least 120x80, got {width}x{height}");
        return With(width: width, height: height);
    }
    /// <summary>Logarithmic x axis (non-positive x values are not drawn).</summary>
    public Chart WithLogX(bool log = true) => With(logX: log);
    /// <summary>Logarithmic y axis (non-positive y values are not drawn).</summary>
    public Chart WithLogY(bool log = true) => With(logY: log);
    /// <summary>Shows or hides the legend.</summary>
    public Chart WithLegend(bool show = true) => With(legend: show);
    /// <summary>Fixes the x range.</summary>
    public Chart WithXRange(double min, double max) => With(xRange: (min, max));
    /// <summary>Fixes the y range.</summary>
    public Chart WithYRange(double min, double max) => With(yRange: (min, max));
    /// <summary>Names the trace(s) (shown in the legend).</summary>
    public Chart WithName(string name) => With(traces: Traces.Select(t => t with { Name = name }).ToList());
    /// <summary>Colours the trace(s) (any CSS colour).</summary>
    public Chart WithColor(string color) => With(traces: Traces.Select(t => t with { Color = color }).ToList());
    /// <summary>Shows markers on line traces.</summary>
    public Chart WithMarkers(bool show = true) => With(traces: Traces.Select(t => t with { Markers = show }).ToList());

    // ------------------------------------------------------------------ Plotly.NET
    private bool LegendVisible => ShowLegend ?? (Traces.Count(t => t.Name is not null) > 1 || (Traces.Count > 1 && Traces.Any(t => t.Name is not null)));

    private static JsonArray Numbers(IEnumerable<double> v) => new(v.Select(x => double.IsFinite(x) ? JsonValue.Create(x) : null).ToArray<JsonNode?>());

    private static JsonArray? Labels(IEnumerable<string>? v) => v is null ? null : new JsonArray(v.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

    /// <summary>
    /// The chart as the specification BoostFormer.Plotly builds the Plotly.NET figure from: traces (kind, points,
    /// categories or matrix, name, colour) and layout (titles, size, log axes, ranges, legend).
    /// </summary>
    public string ToSpecJson()
    {
        bool legend = LegendVisible && Traces.All(t => t.Kind != TraceKind.Heatmap);
        var traces = new JsonArray();
        for (int i = 0; i < Traces.Count; i++)
        {
            var t = Traces[i];
            var o = new JsonObject
            {
                ["kind"] = t.Kind.ToString().ToLowerInvariant(), ["name"] = t.Name, ["color"] = t.Color ?? DefaultColors[i % DefaultColors.Length],
                ["markers"] = t.Markers, ["x"] = Numbers(t.X), ["y"] = Numbers(t.Y), ["categories"] = Labels(t.Categories),
                ["xLabels"] = Labels(t.XLabels), ["yLabels"] = Labels(t.YLabels),
            };
            if (t.Z is { } z)
                o["z"] = new JsonArray(Enumerable.Range(0, z.GetLength(0)).Select(r => (JsonNode?)Numbers(Enumerable.Range(0, z.GetLength(1)).Select(c => z[r, c]))).ToArray());
            traces.Add(o);
        }
        JsonArray? Range((double Min, double Max)? r) => r is { } v ? new JsonArray(v.Min, v.Max) : null;
        return new JsonObject
        {
            ["traces"] = traces, ["title"] = Title, ["xTitle"] = XTitle, ["yTitle"] = YTitle, ["width"] = Width, ["height"] = Height,
            ["logX"] = LogX, ["logY"] = LogY, ["xRange"] = Range(XRange), ["yRange"] = Range(YRange), ["legend"] = legend,
        }.ToJsonString();
    }

    /// <summary>The Plotly figure as JSON (<c>data</c>, <c>layout</c>), what plotly.js draws; non-finite values are null (gaps).</summary>
    public string ToFigureJson() => _json ??= PlotlyContext.FigureJson(ToSpecJson());

    private string? _json;
    private string? _png;
    private string? _pngError;
    private static long _sequence;

    /// <summary>The static image: a PNG of <see cref="Width"/> × <see cref="Height"/> pixels, rendered once per chart.</summary>
    public byte[] ToPng() => Convert.FromBase64String(PngBase64() ?? throw new InvalidOperationException(_pngError));

    /// <summary>Writes the static PNG (temp file + rename).</summary>
    public void SavePng(string path) => Training.Checkpoints.AtomicFile.Write(path, fs => fs.Write(ToPng()));

    /// <summary>Writes a standalone HTML page with plotly.js inlined (opens offline, interactive).</summary>
    public void SaveHtml(string path) => Training.Checkpoints.AtomicFile.WriteAllText(path,
        $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{Escape(Title ?? "chart")}</title><script>{PlotlyJs.Source}</script></head><body>{ToHtml()}</body></html>\n");

    private string? PngBase64()
    {
        if (_png is not null || _pngError is not null) return _png;
        try { _png = Convert.ToBase64String(ChromiumChartRenderer.Shared.RenderPng(ToFigureJson(), Width, Height)); }
        catch (Exception e) when (e is InvalidOperationException or PuppeteerSharp.PuppeteerException or TimeoutException or IOException)
        {
            _pngError = $"static chart image unavailable: {e.Message}";
        }
        return _png;
    }

    /// <summary>
    /// The HTML output: the static PNG inside the chart's box, then a script that draws the live plotly.js chart in its
    /// place when <c>window.Plotly</c> (or an AMD module <c>plotly</c> already defined) exists. Nothing is fetched.
    /// </summary>
    public override string ToHtml()
    {
        var json = ToFigureJson();
        var id = "bf-chart-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..12].ToLowerInvariant() + "-" + Interlocked.Increment(ref _sequence);
        var png = PngBase64();
        var still = png is not null
            ? $"<img src=\"data:image/png;base64,{png}\" width=\"{Width}\" height=\"{Height}\" alt=\"{Escape(ToString())}\">"
            : $"<pre>{Escape(ToString())}\n({Escape(_pngError)})</pre>";
        var sb = new StringBuilder();
        sb.Append($"<div class=\"bf-chart\" id=\"{id}\" style=\"width:{Width}px;height:{Height}px\">{still}</div>");
        sb.Append("<script type=\"text/javascript\">(function(){var id=").Append(PlotlyJs.Quote(id)).Append(",fig=").Append(PlotlyJs.ScriptSafe(json)).Append(';');
        sb.Append("function draw(P){var el=document.getElementById(id);if(!el||!P||!P.newPlot)return;el.innerHTML='';");
        sb.Append("P.newPlot(el,fig.data,fig.layout,{displaylogo:false,responsive:false});}");
        sb.Append("if(window.Plotly){draw(window.Plotly);}");
        sb.Append("else if(typeof window.require==='function'&&window.require.defined&&window.require.defined('plotly')){window.require(['plotly'],draw);}");
        sb.Append("})();</script>");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        yield return (MimeTypes.Html, ToHtml());
        if (PngBase64() is { } png) yield return (MimeTypes.Png, png);
        yield return (MimeTypes.Plain, ToString());
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"Chart{(Title is null ? "" : $" \"{Title}\"")}: " + string.Join(", ", Traces.Select((t, i) => t.Kind switch
        {
            TraceKind.Heatmap => $"heatmap {t.Z!.GetLength(0)}x{t.Z.GetLength(1)}",
            TraceKind.Bar => $"bar{(t.Name is null ? "" : $" '{t.Name}'")} ({t.Y.Length} categories)",
            _ => $"{t.Kind.ToString().ToLowerInvariant()}{(t.Name is null ? "" : $" '{t.Name}'")} ({t.X.Length} points)",
        }));
}
