using System.Globalization;
using System.Numerics;
using System.Text;

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
    /// <summary>A matrix of values drawn as coloured cells (viridis) with a colour bar.</summary>
    Heatmap,
}

/// <summary>One data series of a <see cref="Chart"/>.</summary>
public sealed record Trace(TraceKind Kind, double[] X, double[] Y, string? Name = null, string? Color = null, bool Markers = false,
    IReadOnlyList<string>? Categories = null, double[,]? Z = null, IReadOnlyList<string>? XLabels = null, IReadOnlyList<string>? YLabels = null);

/// <summary>
/// A small SVG chart library in the spirit of Plotly.NET: build a chart with <see cref="Line{TX,TY}"/>,
/// <see cref="Scatter{TX,TY}"/>, <see cref="Bar{T}"/> or <see cref="Heatmap(double[,], IEnumerable{string}?, IEnumerable{string}?, string?)"/>, style it fluently
/// (<c>.WithTitle(..)</c>, <c>.WithXTitle(..)</c>, <c>.WithSize(..)</c>, <c>.WithLogY()</c>) and overlay several with
/// <see cref="Combine(Chart[])"/>. Charts are immutable: every <c>With…</c> returns a new chart. Displays as
/// <c>image/svg+xml</c> (and inline SVG in HTML).
/// </summary>
public sealed class Chart : SvgOutput
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
    /// optional column (<paramref name="xLabels"/>) and row (<paramref name="yLabels"/>) labels. Cells are annotated with
    /// their values when there are at most 400 and they are large enough.
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

    // ------------------------------------------------------------------ axes
    /// <summary>
    /// "Nice" tick positions covering [<paramref name="min"/>, <paramref name="max"/>] with about <paramref name="target"/>
    /// ticks: steps of 1, 2 or 5 × 10^k (after Heckbert, "Nice numbers for graph labels"). Returns the rounded range and the ticks.
    /// </summary>
    public static (double Min, double Max, double[] Ticks) NiceTicks(double min, double max, int target = 6)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) throw new ArgumentException($"axis range must be finite, got [{min}, {max}]");
        if (max < min) (min, max) = (max, min);
        if (max == min) { double d = min == 0 ? 1 : Math.Abs(min) * 0.1; min -= d; max += d; }
        double step = NiceNumber((max - min) / Math.Max(1, target - 1), true);
        double lo = Math.Floor(min / step) * step, hi = Math.Ceiling(max / step) * step;
        int n = (int)Math.Round((hi - lo) / step);
        var ticks = new double[n + 1];
        for (int i = 0; i <= n; i++) { ticks[i] = lo + i * step; if (Math.Abs(ticks[i]) < step * 1e-9) ticks[i] = 0; }
        return (lo, hi, ticks);
    }

    private static double NiceNumber(double x, bool round)
    {
        double exp = Math.Floor(Math.Log10(x)), f = x / Math.Pow(10, exp);
        double nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
        return nf * Math.Pow(10, exp);
    }

    /// <summary>Tick label text: compact SI suffixes (k, M, G, T) from 10⁴ on, otherwise as many decimals as the step needs.</summary>
    public static string FormatTick(double v, double step)
    {
        double a = Math.Abs(v);
        if (a >= 1e4)
        {
            var (div, suffix) = a >= 1e12 ? (1e12, "T") : a >= 1e9 ? (1e9, "G") : a >= 1e6 ? (1e6, "M") : (1e3, "k");
            return (v / div).ToString("0.##", CultureInfo.InvariantCulture) + suffix;
        }
        if (a != 0 && a < 1e-4) return v.ToString("0.#e+0", CultureInfo.InvariantCulture);
        int decimals = step > 0 ? Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 8) : 2;
        return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    /// <summary>A data value for annotations and tooltips: integers as integers, others with up to 3 significant decimals, SI suffixes from 10⁴.</summary>
    public static string FormatValue(double v)
    {
        if (!double.IsFinite(v)) return v.ToString(CultureInfo.InvariantCulture);
        double a = Math.Abs(v);
        if (a >= 1e4) return FormatTick(v, a);
        if (v == Math.Round(v)) return v.ToString("0", CultureInfo.InvariantCulture);
        return a >= 1 ? v.ToString("0.##", CultureInfo.InvariantCulture) : v.ToString("G3", CultureInfo.InvariantCulture);
    }

    private sealed class Axis
    {
        public double Min, Max;
        public bool Log;
        public double[] Ticks = Array.Empty<double>();
        public string[] Labels = Array.Empty<string>();
        public double P0, P1; // pixel positions of Min and Max

        public double Map(double v)
        {
            double t = Log ? (Math.Log10(v) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min)) : (v - Min) / (Max - Min);
            return P0 + t * (P1 - P0);
        }

        public static Axis Numeric(IEnumerable<double> values, bool log, (double, double)? fixedRange, bool includeZero)
        {
            var v = values.Where(double.IsFinite).Where(x => !log || x > 0).ToList();
            var a = new Axis { Log = log };
            double lo, hi;
            if (fixedRange is { } r) (lo, hi) = r;
            else if (v.Count == 0) (lo, hi) = log ? (1, 10) : (0, 1);
            else { lo = v.Min(); hi = v.Max(); if (includeZero && !log) { lo = Math.Min(lo, 0); hi = Math.Max(hi, 0); } }
            if (log)
            {
                if (lo <= 0 || hi <= 0) throw new ArgumentException($"log axis range must be positive, got [{lo}, {hi}]");
                int e0 = (int)Math.Floor(Math.Log10(lo) + 1e-9), e1 = (int)Math.Ceiling(Math.Log10(hi) - 1e-9);
                if (e1 == e0) e1++;
                a.Min = Math.Pow(10, e0); a.Max = Math.Pow(10, e1);
                int stride = Math.Max(1, (e1 - e0 + 7) / 8);
                var ticks = new List<double>();
                for (int e = e0; e <= e1; e += stride) ticks.Add(Math.Pow(10, e));
                a.Ticks = ticks.ToArray();
                a.Labels = a.Ticks.Select(t => FormatTick(t, t)).ToArray();
            }
            else
            {
                var (nlo, nhi, ticks) = fixedRange is null ? NiceTicks(lo, hi) : (lo, hi, NiceTicks(lo, hi).Ticks.Where(t => t >= lo - 1e-12 && t <= hi + 1e-12).ToArray());
                a.Min = nlo; a.Max = nhi; a.Ticks = ticks;
                double step = ticks.Length > 1 ? ticks[1] - ticks[0] : Math.Abs(nhi - nlo);
                a.Labels = ticks.Select(t => FormatTick(t, step)).ToArray();
            }
            return a;
        }
    }

    // ------------------------------------------------------------------ rendering
    private static string F(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);

    private string ColorOf(int i) => Traces[i].Color ?? DefaultColors[i % DefaultColors.Length];

    private bool LegendVisible => ShowLegend ?? (Traces.Count(t => t.Name is not null) > 1 || (Traces.Count > 1 && Traces.Any(t => t.Name is not null)));

    /// <summary>The chart as a standalone SVG document.</summary>
    public override string ToSvg()
    {
        var sb = new StringBuilder();
        bool heat = Traces.Count == 1 && Traces[0].Kind == TraceKind.Heatmap;
        bool legend = !heat && LegendVisible;
        double left = 64, right = legend ? 20 + LegendWidth() : 20, top = Title is null ? 16 : 40, bottom = XTitle is null ? 36 : 54;
        if (heat)
        {
            var t0 = Traces[0];
            int maxY = t0.YLabels?.Max(l => l.Length) ?? 3;
            left = Math.Max(64, 12 + 6.5 * maxY + (YTitle is null ? 0 : 18));
            right = 80;
            if (t0.XLabels is { } xl && xl.Any(l => l.Length > 4)) bottom += Math.Min(80, 5 * xl.Max(l => l.Length));
        }
        double pw = Width - left - right, ph = Height - top - bottom;
        if (pw < 20 || ph < 20) throw new InvalidOperationException($"chart {Width}x{Height} is too small for its axes and legend");

        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        if (Title is not null) sb.Append($"<text x=\"{F(Width / 2.0)}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{Escape(Title)}</text>");
        if (XTitle is not null) sb.Append($"<text x=\"{F(left + pw / 2)}\" y=\"{F(Height - 10)}\" text-anchor=\"middle\">{Escape(XTitle)}</text>");
        if (YTitle is not null) sb.Append($"<text transform=\"translate(14,{F(top + ph / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(YTitle)}</text>");

        if (heat) RenderHeatmap(sb, Traces[0], left, top, pw, ph);
        else if (Traces.Any(t => t.Kind == TraceKind.Bar)) RenderBars(sb, left, top, pw, ph);
        else RenderXy(sb, left, top, pw, ph);

        if (legend) RenderLegend(sb, left + pw + 16, top);
        sb.Append("</svg>");
        return sb.ToString();
    }

    private double LegendWidth() => 30 + 7 * Traces.Select((t, i) => (t.Name ?? $"trace {i}").Length).DefaultIfEmpty(6).Max();

    private void RenderLegend(StringBuilder sb, double x, double y)
    {
        for (int i = 0; i < Traces.Count; i++)
        {
            double yy = y + 8 + i * 18;
            var t = Traces[i];
            if (t.Kind == TraceKind.Bar) sb.Append($"<rect x=\"{F(x)}\" y=\"{F(yy - 6)}\" width=\"16\" height=\"10\" fill=\"{ColorOf(i)}\"/>");
            else if (t.Kind == TraceKind.Scatter) sb.Append($"<circle cx=\"{F(x + 8)}\" cy=\"{F(yy - 1)}\" r=\"4\" fill=\"{ColorOf(i)}\"/>");
            else sb.Append($"<line x1=\"{F(x)}\" y1=\"{F(yy - 1)}\" x2=\"{F(x + 16)}\" y2=\"{F(yy - 1)}\" stroke=\"{ColorOf(i)}\" stroke-width=\"2\"/>");
            sb.Append($"<text x=\"{F(x + 22)}\" y=\"{F(yy + 3)}\">{Escape(t.Name ?? $"trace {i}")}</text>");
        }
    }

    private static void Frame(StringBuilder sb, double left, double top, double pw, double ph) =>
        sb.Append($"<rect x=\"{F(left)}\" y=\"{F(top)}\" width=\"{F(pw)}\" height=\"{F(ph)}\" fill=\"none\" stroke=\"#444\"/>");

    private void YAxis(StringBuilder sb, Axis y, double left, double pw)
    {
        for (int i = 0; i < y.Ticks.Length; i++)
        {
            double py = y.Map(y.Ticks[i]);
            sb.Append($"<line x1=\"{F(left)}\" y1=\"{F(py)}\" x2=\"{F(left + pw)}\" y2=\"{F(py)}\" stroke=\"#e5e5e5\"/>");
            sb.Append($"<line x1=\"{F(left - 4)}\" y1=\"{F(py)}\" x2=\"{F(left)}\" y2=\"{F(py)}\" stroke=\"#444\"/>");
            sb.Append($"<text x=\"{F(left - 6)}\" y=\"{F(py + 4)}\" text-anchor=\"end\">{Escape(y.Labels[i])}</text>");
        }
    }

    private void RenderXy(StringBuilder sb, double left, double top, double pw, double ph)
    {
        var x = Axis.Numeric(Traces.SelectMany(t => t.X), LogX, XRange, false);
        var y = Axis.Numeric(Traces.SelectMany(t => t.Y), LogY, YRange, false);
        x.P0 = left; x.P1 = left + pw; y.P0 = top + ph; y.P1 = top;
        YAxis(sb, y, left, pw);
        for (int i = 0; i < x.Ticks.Length; i++)
        {
            double px = x.Map(x.Ticks[i]);
            sb.Append($"<line x1=\"{F(px)}\" y1=\"{F(top)}\" x2=\"{F(px)}\" y2=\"{F(top + ph)}\" stroke=\"#e5e5e5\"/>");
            sb.Append($"<line x1=\"{F(px)}\" y1=\"{F(top + ph)}\" x2=\"{F(px)}\" y2=\"{F(top + ph + 4)}\" stroke=\"#444\"/>");
            sb.Append($"<text x=\"{F(px)}\" y=\"{F(top + ph + 18)}\" text-anchor=\"middle\">{Escape(x.Labels[i])}</text>");
        }
        Frame(sb, left, top, pw, ph);
        for (int ti = 0; ti < Traces.Count; ti++)
        {
            var t = Traces[ti];
            string color = ColorOf(ti);
            bool Ok(int k) => double.IsFinite(t.X[k]) && double.IsFinite(t.Y[k]) && (!LogX || t.X[k] > 0) && (!LogY || t.Y[k] > 0)
                && t.X[k] >= Math.Min(x.Min, x.Max) && t.X[k] <= Math.Max(x.Min, x.Max) && t.Y[k] >= Math.Min(y.Min, y.Max) && t.Y[k] <= Math.Max(y.Min, y.Max);
            if (t.Kind == TraceKind.Line)
            {
                var seg = new List<string>();
                void Flush()
                {
                    if (seg.Count > 1) sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"{string.Join(" ", seg)}\"/>");
                    seg.Clear();
                }
                for (int k = 0; k < t.X.Length; k++)
                {
                    if (!Ok(k)) { Flush(); continue; }
                    seg.Add($"{F(x.Map(t.X[k]))},{F(y.Map(t.Y[k]))}");
                }
                Flush();
            }
            if (t.Kind == TraceKind.Scatter || t.Markers)
                for (int k = 0; k < t.X.Length; k++)
                    if (Ok(k)) sb.Append($"<circle cx=\"{F(x.Map(t.X[k]))}\" cy=\"{F(y.Map(t.Y[k]))}\" r=\"3.5\" fill=\"{color}\"/>");
        }
    }

    private void RenderBars(StringBuilder sb, double left, double top, double pw, double ph)
    {
        var cats = Traces[0].Categories!;
        var y = Axis.Numeric(Traces.SelectMany(t => t.Y), LogY, YRange, includeZero: true);
        y.P0 = top + ph; y.P1 = top;
        YAxis(sb, y, left, pw);
        double band = pw / cats.Count, groupW = band * 0.8, barW = groupW / Traces.Count;
        bool rotate = cats.Any(c => c.Length * 7 > band);
        for (int c = 0; c < cats.Count; c++)
        {
            double cx = left + band * (c + 0.5);
            sb.Append(rotate
                ? $"<text transform=\"translate({F(cx + 4)},{F(top + ph + 10)}) rotate(-35)\" text-anchor=\"end\">{Escape(cats[c])}</text>"
                : $"<text x=\"{F(cx)}\" y=\"{F(top + ph + 18)}\" text-anchor=\"middle\">{Escape(cats[c])}</text>");
        }
        double baseline = y.Log ? y.Min : Math.Clamp(0, Math.Min(y.Min, y.Max), Math.Max(y.Min, y.Max));
        for (int ti = 0; ti < Traces.Count; ti++)
        {
            var t = Traces[ti];
            for (int c = 0; c < cats.Count; c++)
            {
                double v = t.Y[c];
                if (!double.IsFinite(v) || (y.Log && v <= 0)) continue;
                double x0 = left + band * c + (band - groupW) / 2 + ti * barW;
                double p0 = y.Map(baseline), p1 = y.Map(Math.Clamp(v, Math.Min(y.Min, y.Max), Math.Max(y.Min, y.Max)));
                sb.Append($"<rect x=\"{F(x0)}\" y=\"{F(Math.Min(p0, p1))}\" width=\"{F(Math.Max(1, barW - 1))}\" height=\"{F(Math.Abs(p1 - p0))}\" fill=\"{ColorOf(ti)}\"><title>{Escape(cats[c])}: {Escape(FormatValue(v))}</title></rect>");
            }
        }
        Frame(sb, left, top, pw, ph);
    }

    private void RenderHeatmap(StringBuilder sb, Trace t, double left, double top, double pw, double ph)
    {
        var z = t.Z!;
        int rows = z.GetLength(0), cols = z.GetLength(1);
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in z) if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (double.IsInfinity(lo)) { lo = 0; hi = 1; }
        double cw = pw / cols, ch = ph / rows;
        bool annotate = rows * cols <= 400 && cw >= 28 && ch >= 14;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double v = z[r, c], tt = hi > lo ? (v - lo) / (hi - lo) : 0.5;
                var (R, G, B) = Colormaps.Viridis(double.IsFinite(v) ? tt : double.NaN);
                sb.Append($"<rect x=\"{F(left + c * cw)}\" y=\"{F(top + r * ch)}\" width=\"{F(cw + 0.5)}\" height=\"{F(ch + 0.5)}\" fill=\"#{R:x2}{G:x2}{B:x2}\"/>");
                if (annotate)
                    sb.Append($"<text x=\"{F(left + (c + 0.5) * cw)}\" y=\"{F(top + (r + 0.5) * ch + 4)}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{(tt > 0.6 ? "black" : "white")}\">{Escape(FormatValue(v))}</text>");
            }
        int xEvery = Math.Max(1, (int)Math.Ceiling(14 / cw)), yEvery = Math.Max(1, (int)Math.Ceiling(14 / ch));
        bool rotate = (t.XLabels?.Any(l => l.Length * 7 > cw * xEvery) ?? false);
        for (int c = 0; c < cols; c += xEvery)
        {
            string label = t.XLabels?[c] ?? c.ToString(CultureInfo.InvariantCulture);
            double cx = left + (c + 0.5) * cw;
            sb.Append(rotate
                ? $"<text transform=\"translate({F(cx + 4)},{F(top + ph + 10)}) rotate(-45)\" text-anchor=\"end\">{Escape(label)}</text>"
                : $"<text x=\"{F(cx)}\" y=\"{F(top + ph + 16)}\" text-anchor=\"middle\">{Escape(label)}</text>");
        }
        for (int r = 0; r < rows; r += yEvery)
            sb.Append($"<text x=\"{F(left - 6)}\" y=\"{F(top + (r + 0.5) * ch + 4)}\" text-anchor=\"end\">{Escape(t.YLabels?[r] ?? r.ToString(CultureInfo.InvariantCulture))}</text>");
        Frame(sb, left, top, pw, ph);
        // Colour bar.
        double bx = left + pw + 16, bw = 14;
        const int steps = 32;
        for (int i = 0; i < steps; i++)
        {
            var (R, G, B) = Colormaps.Viridis(1 - (i + 0.5) / steps);
            sb.Append($"<rect x=\"{F(bx)}\" y=\"{F(top + i * ph / steps)}\" width=\"{F(bw)}\" height=\"{F(ph / steps + 0.5)}\" fill=\"#{R:x2}{G:x2}{B:x2}\"/>");
        }
        sb.Append($"<rect x=\"{F(bx)}\" y=\"{F(top)}\" width=\"{F(bw)}\" height=\"{F(ph)}\" fill=\"none\" stroke=\"#444\"/>");
        var (_, _, ticks) = NiceTicks(lo, hi, 5);
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        foreach (var tk in ticks.Where(v => v >= lo - 1e-12 && v <= hi + 1e-12))
        {
            double py = hi > lo ? top + ph * (1 - (tk - lo) / (hi - lo)) : top + ph / 2;
            sb.Append($"<line x1=\"{F(bx + bw)}\" y1=\"{F(py)}\" x2=\"{F(bx + bw + 3)}\" y2=\"{F(py)}\" stroke=\"#444\"/>");
            sb.Append($"<text x=\"{F(bx + bw + 5)}\" y=\"{F(py + 4)}\">{Escape(FormatTick(tk, step))}</text>");
        }
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
