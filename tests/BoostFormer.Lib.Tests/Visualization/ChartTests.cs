using System.Xml.Linq;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class ChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XElement Parse(Chart c) => XElement.Parse(c.ToSvg());

    [Theory]
    [InlineData(0, 1, 0, 1)]
    [InlineData(0.13, 0.87, 0.1, 0.9)]
    [InlineData(-3.2, 47, -10, 50)]
    [InlineData(1200, 9800, 0, 10000)]
    public void Nice_ticks_cover_the_range_with_round_steps(double min, double max, double lo, double hi)
    {
        var (a, b, ticks) = Chart.NiceTicks(min, max);
        a.Should().BeApproximately(lo, 1e-9);
        b.Should().BeApproximately(hi, 1e-9);
        ticks.First().Should().BeApproximately(lo, 1e-9);
        ticks.Last().Should().BeApproximately(hi, 1e-9);
        var step = ticks[1] - ticks[0];
        var mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
        new[] { 1.0, 2.0, 5.0 }.Should().Contain(m => Math.Abs(m - mantissa) < 1e-9);
        ticks.Length.Should().BeInRange(3, 12);
    }

    [Fact]
    public void Line_chart_is_valid_SVG_with_titles_axes_and_one_polyline()
    {
        var c = Chart.Line(new[] { 1, 2, 3, 4 }, new[] { 1.0, 4, 9, 16 }).WithTitle("Squares").WithXTitle("n").WithYTitle("n²").WithSize(500, 300);
        var svg = Parse(c);
        svg.Attribute("width")!.Value.Should().Be("500");
        svg.Descendants(Svg + "polyline").Should().HaveCount(1);
        var texts = svg.Descendants(Svg + "text").Select(t => t.Value).ToList();
        texts.Should().Contain(new[] { "Squares", "n", "n²", "0", "20" }, "the y axis is rounded up to the nice tick 20");
        c.Formats().Select(f => f.Mime).Should().Equal("image/svg+xml", "text/html", "text/plain");
        c.ToString().Should().Be("Chart \"Squares\": line (4 points)");
    }

    [Fact]
    public void Combined_traces_get_a_legend_and_distinct_colours()
    {
        var x = Enumerable.Range(0, 10).ToArray();
        var c = Chart.Combine(Chart.Line(x, x.Select(v => v * 2), "double"), Chart.Scatter(x, x.Select(v => v * 3), "triple"));
        var svg = Parse(c);
        svg.Descendants(Svg + "circle").Should().HaveCount(10 + 1, "ten markers plus the legend symbol");
        svg.Descendants(Svg + "text").Select(t => t.Value).Should().Contain(new[] { "double", "triple" });
        svg.Descendants(Svg + "polyline").Single().Attribute("stroke")!.Value.Should().Be(Chart.DefaultColors[0]);
        svg.Descendants(Svg + "circle").First().Attribute("fill")!.Value.Should().Be(Chart.DefaultColors[1]);
    }

    [Fact]
    public void NaNs_break_lines_and_log_axes_use_powers_of_ten()
    {
        var c = Chart.Line(new[] { 1.0, 2, 3, 4, 5 }, new[] { 1.0, 10, double.NaN, 1000, 10000 }).WithLogY();
        var svg = Parse(c);
        svg.Descendants(Svg + "polyline").Should().HaveCount(2);
        svg.Descendants(Svg + "text").Select(t => t.Value).Should().Contain(new[] { "1", "10", "100", "1000", "10k" });
    }

    [Fact]
    public void Grouped_bars_draw_one_rect_per_value()
    {
        var cats = new[] { "B0", "B1", "B2" };
        var c = Chart.Combine(Chart.Bar(cats, new[] { 3.7, 13.7, 27.5 }, "SegFormer"), Chart.Bar(cats, new[] { 3.1, 11.9, 24.0 }, "BoostFormer"))
            .WithYTitle("params (M)");
        var bars = Parse(c).Descendants(Svg + "rect").Where(r => r.Element(Svg + "title") != null).ToList();
        bars.Should().HaveCount(6);
        // Taller value → taller bar.
        double H(string cat, int trace) => double.Parse(bars.Where(b => b.Element(Svg + "title")!.Value.StartsWith(cat + ":")).ElementAt(trace).Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        H("B2", 0).Should().BeGreaterThan(H("B1", 0));
        H("B0", 0).Should().BeGreaterThan(H("B0", 1));
    }

    [Fact]
    public void Heatmap_has_a_cell_per_value_and_a_colour_bar()
    {
        var z = new double[3, 4];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) z[i, j] = i * 4 + j;
        var c = Chart.Heatmap(z, new[] { "a", "b", "c", "d" }, new[] { "r0", "r1", "r2" }).WithTitle("confusion");
        var svg = Parse(c);
        var rects = svg.Descendants(Svg + "rect").ToList();
        rects.Count(r => r.Attribute("fill")!.Value.StartsWith('#')).Should().Be(12 + 32, "12 cells and a 32-step colour bar");
        var texts = svg.Descendants(Svg + "text").Select(t => t.Value).ToList();
        texts.Should().Contain(new[] { "a", "d", "r0", "r2", "11" });
        // Smallest value is the dark end of viridis, largest the yellow end.
        var (r0, g0, b0) = Colormaps.Viridis(0);
        var (r1, g1, b1) = Colormaps.Viridis(1);
        rects.Should().Contain(r => r.Attribute("fill")!.Value == $"#{r0:x2}{g0:x2}{b0:x2}");
        rects.Should().Contain(r => r.Attribute("fill")!.Value == $"#{r1:x2}{g1:x2}{b1:x2}");
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

    [Fact]
    public void Charts_format_as_HTML_and_plain_text_in_a_kernel()
    {
        // What a .NET Interactive kernel does with the convention-based formatter source of RichOutput (by member names).
        var attr = (TypeFormatterSourceAttribute)Attribute.GetCustomAttribute(typeof(Chart), typeof(TypeFormatterSourceAttribute), inherit: true)!;
        attr.PreferredMimeTypes.Should().Equal("text/html", "text/plain");
        var source = Activator.CreateInstance(attr.FormatterSourceType)!;
        var formatters = ((IEnumerable<object>)source.GetType().GetMethod("CreateTypeFormatters")!.Invoke(source, null)!).Cast<RichOutputFormatter>().ToList();
        var chart = Chart.Line(new[] { 1.0, 2.0 });
        string Format(string mime)
        {
            using var w = new StringWriter();
            formatters.Single(f => f.MimeType == mime).Format(chart, w).Should().BeTrue();
            return w.ToString();
        }
        Format("text/html").Should().StartWith("<svg");
        Format("image/svg+xml").Should().StartWith("<svg");
        Format("text/plain").Should().Be(chart.ToString());
        using var none = new StringWriter();
        formatters.Single(f => f.MimeType == "image/png").Format(chart, none).Should().BeFalse("a chart has no PNG form");
        formatters.Single(f => f.MimeType == "text/html").Format("not ours", none).Should().BeFalse();
        var md = (TypeFormatterSourceAttribute)Attribute.GetCustomAttribute(typeof(Markdown), typeof(TypeFormatterSourceAttribute), inherit: true)!;
        md.PreferredMimeTypes.Should().Equal("text/markdown", "text/plain");
    }
}
