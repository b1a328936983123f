using System.Text.Json;
using System.Text.RegularExpressions;
using BoostFormer.Visualization;
using SkiaSharp;

namespace BoostFormer.Lib.Tests.Visualization;

/// <summary>A fact that needs a local Chromium (Debian's chromium, scripts/setup.sh); skipped with the reason otherwise.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no Chromium is installed.</summary>
    public ChromiumFactAttribute()
    {
        if (ChromiumChartRenderer.FindChromium() is null)
            Skip = "no Chromium at /usr/bin/chromium (or BOOSTFORMER_CHROMIUM): install Debian's chromium (scripts/setup.sh installs it)";
    }
}

public class ChartTests
{
    private static JsonElement Figure(Chart c) => JsonDocument.Parse(c.ToFigureJson()).RootElement;

    [Fact]
    public void Line_chart_figure_has_its_points_titles_and_size()
    {
        var c = Chart.Line(new[] { 1, 2, 3, 4 }, new[] { 1.0, 4, 9, 16 }).WithTitle("Squares").WithXTitle("n").WithYTitle("n²").WithSize(500, 300);
        var f = Figure(c);
        var trace = f.GetProperty("data").EnumerateArray().Single();
        trace.GetProperty("type").GetString().Should().Be("scatter");
        trace.GetProperty("mode").GetString().Should().Be("lines");
        trace.GetProperty("y").EnumerateArray().Select(v => v.GetDouble()).Should().Equal(1, 4, 9, 16);
        var layout = f.GetProperty("layout");
        layout.GetProperty("title").GetProperty("text").GetString().Should().Be("Squares");
        layout.GetProperty("xaxis").GetProperty("title").GetProperty("text").GetString().Should().Be("n");
        layout.GetProperty("yaxis").GetProperty("title").GetProperty("text").GetString().Should().Be("n²");
        layout.GetProperty("width").GetInt32().Should().Be(500);
        layout.GetProperty("height").GetInt32().Should().Be(300);
        c.ToString().Should().Be("Chart \"Squares\": line (4 points)");
    }

    [Fact]
    public void Combined_traces_get_a_legend_and_distinct_colours()
    {
        var x = Enumerable.Range(0, 10).ToArray();
        var c = Chart.Combine(Chart.Line(x, x.Select(v => v * 2), "double"), Chart.Scatter(x, x.Select(v => v * 3), "triple"));
        var traces = Figure(c).GetProperty("data").EnumerateArray().ToList();
        traces.Select(t => t.GetProperty("name").GetString()).Should().Equal("double", "triple");
        traces.Select(t => t.GetProperty("mode").GetString()).Should().Equal("lines", "markers");
        traces.Should().OnlyContain(t => t.GetProperty("showlegend").GetBoolean());
        traces[0].GetProperty("line").GetProperty("color").GetString().Should().Be(Chart.DefaultColors[0]);
        traces[1].GetProperty("marker").GetProperty("color").GetString().Should().Be(Chart.DefaultColors[1]);
    }

    [Fact]
    public void Log_axes_ranges_and_NaN_gaps_reach_the_figure()
    {
        var c = Chart.Line(new[] { 1.0, 2, 3, 4, 5 }, new[] { 1.0, 10, double.NaN, 1000, 10000 }).WithLogY().WithXRange(0, 6).WithLogX().WithXRange(1, 100);
        var f = Figure(c);
        f.GetProperty("layout").GetProperty("yaxis").GetProperty("type").GetString().Should().Be("log");
        f.GetProperty("layout").GetProperty("xaxis").GetProperty("type").GetString().Should().Be("log");
        // Plotly takes log-axis ranges in decades.
        f.GetProperty("layout").GetProperty("xaxis").GetProperty("range").EnumerateArray().Select(v => v.GetDouble()).Should().Equal(0, 2);
        var y = f.GetProperty("data")[0].GetProperty("y").EnumerateArray().ToList();
        y[2].ValueKind.Should().Be(JsonValueKind.Null, "a NaN is a gap in the line, valid JSON for plotly.js");
    }

    [Fact]
    public void Grouped_bars_share_categories_in_one_figure()
    {
        var cats = new[] { "B0", "B1", "B2" };
        var c = Chart.Combine(Chart.Bar(cats, new[] { 3.7, 13.7, 27.5 }, "SegFormer"), Chart.Bar(cats, new[] { 3.1, 11.9, 24.0 }, "BoostFormer"))
            .WithYTitle("params (M)");
        var traces = Figure(c).GetProperty("data").EnumerateArray().ToList();
        traces.Should().HaveCount(2).And.OnlyContain(t => t.GetProperty("type").GetString() == "bar");
        traces[0].GetProperty("x").EnumerateArray().Select(v => v.GetString()).Should().Equal(cats);
        traces[1].GetProperty("y").EnumerateArray().Select(v => v.GetDouble()).Should().Equal(3.1, 11.9, 24.0);
    }

    [Fact]
    public void Heatmap_keeps_its_matrix_labels_and_row_0_on_top()
    {
        var z = new double[3, 4];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) z[i, j] = i * 4 + j;
        var f = Figure(Chart.Heatmap(z, new[] { "a", "b", "c", "d" }, new[] { "r0", "r1", "r2" }).WithTitle("confusion"));
        var t = f.GetProperty("data")[0];
        t.GetProperty("type").GetString().Should().Be("heatmap");
        t.GetProperty("z")[2].EnumerateArray().Select(v => v.GetDouble()).Should().Equal(8, 9, 10, 11);
        t.GetProperty("x").EnumerateArray().Select(v => v.GetString()).Should().Equal("a", "b", "c", "d");
        f.GetProperty("layout").GetProperty("yaxis").GetProperty("autorange").GetString().Should().Be("reversed");
    }

    [Fact]
    public void Bad_input_gives_one_clear_error()
    {
        var mismatch = () => Chart.Line(new[] { 1, 2 }, new[] { 1, 2, 3 });
        mismatch.Should().Throw<ArgumentException>().WithMessage("Chart.Line: x has 2 values but y has 3*");
        var mix = () => Chart.Combine(Chart.Bar(new[] { "a" }, new[] { 1 }), Chart.Line(new[] { 1 }, new[] { 1 }));
        mix.Should().Throw<ArgumentException>().WithMessage("*cannot be combined*");
        var labels = () => Chart.Heatmap(new double[2, 2], new[] { "only one" });
        labels.Should().Throw<ArgumentException>().WithMessage("*1 x labels for 2 columns*");
    }

    [ChromiumFact]
    public void Charts_format_as_HTML_PNG_and_plain_text_in_a_kernel()
    {
        // What a .NET Interactive kernel does with the convention-based formatter source of RichOutput (by member names).
        var attr = (TypeFormatterSourceAttribute)Attribute.GetCustomAttribute(typeof(Chart), typeof(TypeFormatterSourceAttribute), inherit: true)!;
        attr.PreferredMimeTypes.Should().Equal("text/html", "image/png", "text/plain");
        var source = Activator.CreateInstance(attr.FormatterSourceType)!;
        var formatters = ((IEnumerable<object>)source.GetType().GetMethod("CreateTypeFormatters")!.Invoke(source, null)!).Cast<RichOutputFormatter>().ToList();
        var chart = Chart.Line(new[] { 1.0, 2.0 });
        string Format(string mime)
        {
            using var w = new StringWriter();
            formatters.Single(f => f.MimeType == mime).Format(chart, w).Should().BeTrue();
            return w.ToString();
        }
        Format("text/html").Should().Contain("<img src=\"data:image/png;base64,");
        Format("image/png").Should().NotBeEmpty();
        Format("text/plain").Should().Be(chart.ToString());
        using var none = new StringWriter();
        formatters.Single(f => f.MimeType == "image/svg+xml").Format(chart, none).Should().BeFalse("a chart has no SVG form");
        formatters.Single(f => f.MimeType == "text/html").Format("not ours", none).Should().BeFalse();
        var md = (TypeFormatterSourceAttribute)Attribute.GetCustomAttribute(typeof(Markdown), typeof(TypeFormatterSourceAttribute), inherit: true)!;
        md.PreferredMimeTypes.Should().Equal("text/markdown", "text/plain");
    }

    [Fact]
    public void Plotly_NET_and_FSharp_Core_10_1_run_in_their_own_load_context_not_the_hosts()
    {
        Chart.Line(new[] { 1.0, 2 }, new[] { 1.0, 2 }).ToFigureJson().Should().Contain("\"type\":\"scatter\"");
        System.Runtime.Loader.AssemblyLoadContext.Default.Assemblies.Select(a => a.GetName().Name).Should().NotContain(new[] { "Plotly.NET", "Giraffe.ViewEngine" },
            "a host whose default context runs another FSharp.Core (the dotnet-interactive tool: 10.0) must not bind Plotly.NET's dependencies");
        var plotly = System.Runtime.Loader.AssemblyLoadContext.All.Single(c => c.Name == "boostformer-plotly");
        var names = plotly.Assemblies.Select(a => a.GetName()).ToList();
        names.Select(n => n.Name).Should().Contain(new[] { "BoostFormer.Plotly", "Plotly.NET", "Plotly.NET.CSharp", "FSharp.Core", "Giraffe.ViewEngine" });
        names.Single(n => n.Name == "FSharp.Core").Version.Should().BeGreaterThanOrEqualTo(new Version(10, 1), "Plotly.NET 6 is built against FSharp.Core 10.1");
    }

    [Fact]
    public void Plotly_js_ships_inside_the_Plotly_NET_package()
    {
        PlotlyJs.FileName.Should().MatchRegex(@"^plotly-\d+\.\d+\.\d+\.min\.js$");
        PlotlyJs.Source.Length.Should().BeGreaterThan(1_000_000);
        PlotlyJs.Source.Should().Contain(PlotlyJs.Version);
    }

    [ChromiumFact]
    public void Static_PNG_decodes_at_the_chart_size()
    {
        var c = Chart.Combine(Chart.Line(new[] { 1.0, 2, 3 }, new[] { 3.0, 1, 2 }, "a"), Chart.Scatter(new[] { 1.0, 2, 3 }, new[] { 1.0, 2, 3 }, "b"))
            .WithTitle("static").WithSize(520, 310);
        using var bitmap = SKBitmap.Decode(c.ToPng());
        bitmap.Should().NotBeNull("the renderer returns a PNG");
        (bitmap.Width, bitmap.Height).Should().Be((520, 310));
        // Not blank: plotly.js drew the plot area (grey) and the traces (colours) on white.
        var colours = new HashSet<SKColor>();
        for (int y = 0; y < bitmap.Height; y += 5) for (int x = 0; x < bitmap.Width; x += 5) colours.Add(bitmap.GetPixel(x, y));
        colours.Count.Should().BeGreaterThan(10);

        // The same browser again, at scale 2.
        using var twice = SKBitmap.Decode(ChromiumChartRenderer.Shared.RenderPng(c.ToFigureJson(), 300, 200, 2));
        (twice.Width, twice.Height).Should().Be((600, 400), "scale 2 doubles the pixels");
    }

    [ChromiumFact]
    public void Display_bundle_is_HTML_with_the_static_image_then_PNG_then_text_and_loads_nothing_from_the_network()
    {
        var c = Chart.Bar(new[] { "x", "y" }, new[] { 1.0, 2.0 }).WithTitle("offline");
        var formats = c.Formats().ToList();
        formats.Select(f => f.Mime).Should().Equal("text/html", "image/png", "text/plain");
        var html = formats[0].Data;
        html.Should().Contain("<img src=\"data:image/png;base64," + formats[1].Data + "\"");
        Regex.IsMatch(html, @"src\s*=\s*[""']?https?://", RegexOptions.IgnoreCase).Should().BeFalse("no script or image is loaded from the network");
        html.Should().NotContain("http://").And.NotContain("https://");
        using var bitmap = SKBitmap.Decode(Convert.FromBase64String(formats[1].Data));
        (bitmap.Width, bitmap.Height).Should().Be((c.Width, c.Height));
    }
}
