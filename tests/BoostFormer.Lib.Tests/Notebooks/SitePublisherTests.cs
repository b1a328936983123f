using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BoostFormer.Lib.Tests.Visualization;
using BoostFormer.Notebooks;
using BoostFormer.Visualization;
using Microsoft.Playwright;
using SkiaSharp;
using Xunit.Abstractions;

namespace BoostFormer.Lib.Tests.Notebooks;

/// <summary>What a browser found wrong on one page.</summary>
public sealed record PageProblem(string Page, string Problem);

/// <summary>
/// Opens every page of a published site in headless Chromium (Microsoft.Playwright driving Debian's chromium by
/// executable path; no browser download) and reports console errors, uncaught script errors, any request leaving the
/// file system (every one is blocked), images that do not decode and Plotly charts that do not draw. Saves a full-page
/// screenshot of each page.
/// </summary>
public static class SiteBrowserCheck
{
    public static async Task<(List<PageProblem> Problems, Dictionary<string, (int Images, int Charts)> Counts)> CheckAsync(string siteDirectory, string screenshotDirectory)
    {
        Directory.CreateDirectory(screenshotDirectory);
        var problems = new List<PageProblem>();
        var counts = new Dictionary<string, (int, int)>();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumChartRenderer.FindChromium(), Headless = true, Args = ChromiumChartRenderer.LaunchArguments,
        });
        foreach (var file in Directory.GetFiles(siteDirectory, "*.html").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
            var page = await context.NewPageAsync();
            page.Console += (_, m) => { if (m.Type == "error") problems.Add(new PageProblem(name, "console error: " + m.Text)); };
            page.PageError += (_, e) => problems.Add(new PageProblem(name, "script error: " + e));
            await page.RouteAsync("**/*", async route =>
            {
                if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal) || route.Request.Url.StartsWith("data:", StringComparison.Ordinal)) await route.ContinueAsync();
                else { problems.Add(new PageProblem(name, "network request: " + route.Request.Url)); await route.AbortAsync(); }
            });
            await page.GotoAsync(new Uri(Path.GetFullPath(file)).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = 120_000 });
            var broken = await page.EvaluateAsync<string[]>(
                "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.alt || '') + ' ' + i.src.slice(0, 60))");
            foreach (var b in broken) problems.Add(new PageProblem(name, "image does not decode: " + b));
            var images = await page.EvaluateAsync<int>("() => document.images.length");
            // Every chart div must hold plotly.js's drawing (svg.main-svg), which replaces its static image.
            var undrawn = await page.EvaluateAsync<string[]>(
                "() => Array.from(document.querySelectorAll('div.bf-chart')).filter(d => !d.querySelector('svg.main-svg')).map(d => d.id)");
            foreach (var u in undrawn) problems.Add(new PageProblem(name, "chart not drawn: " + u));
            var charts = await page.EvaluateAsync<int>("() => document.querySelectorAll('div.bf-chart').length");
            counts[name] = (images, charts);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshotDirectory, Path.ChangeExtension(name, ".png")), FullPage = true, Timeout = 120_000 });
        }
        return (problems, counts);
    }
}

public class SitePublisherTests(ITestOutputHelper output)
{
    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "BoostFormer.Lib.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("BoostFormer.Lib.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Temp()
    {
        var d = Path.Combine(Path.GetTempPath(), $"bf-site-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    private static JsonObject Bundle(IEnumerable<(string Mime, string Data)> formats)
    {
        var data = new JsonObject();
        foreach (var (mime, d) in formats) data[mime] = d;
        return data;
    }

    private static JsonObject Code(string source, params JsonObject[] outputs) => new()
    {
        ["cell_type"] = "code", ["execution_count"] = 1, ["metadata"] = new JsonObject(), ["source"] = source,
        ["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)o).ToArray()),
    };

    private static JsonObject Display(JsonObject data) => new() { ["output_type"] = "display_data", ["data"] = data, ["metadata"] = new JsonObject() };

    private static string SmallPng()
    {
        using var bmp = new SKBitmap(8, 6);
        bmp.Erase(new SKColor(30, 120, 200));
        using var img = SKImage.FromBitmap(bmp);
        return Convert.ToBase64String(img.Encode(SKEncodedImageFormat.Png, 100).ToArray());
    }

    /// <summary>A notebook with every kind of output the workbook produces, charts made by the library.</summary>
    private static string WriteFixtureNotebook(string dir, bool withCharts)
    {
        var cells = new JsonArray
        {
            new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = "# Site fixture\n\nA table:\n\n| a | b |\n|---|--:|\n| x | 1 |\n" },
            Code("Console.WriteLine(\"hello\");", new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = "hello\n" }),
            Code("image", Display(new JsonObject { ["image/png"] = SmallPng(), ["text/plain"] = "an image" })),
            Code("svg", Display(new JsonObject { ["image/svg+xml"] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"20\" height=\"10\"><rect width=\"20\" height=\"10\" fill=\"red\"/></svg>" })),
            Code("markdown", new JsonObject { ["output_type"] = "execute_result", ["execution_count"] = 1, ["metadata"] = new JsonObject(), ["data"] = new JsonObject { ["text/markdown"] = "**bold** result" } }),
        };
        if (withCharts)
        {
            cells.Add(Code("Chart.Line(...)", Display(Bundle(Chart.Combine(Chart.Line(new[] { 1.0, 2, 3 }, new[] { 1.0, 4, 9 }, "squares"), Chart.Scatter(new[] { 1.0, 2, 3 }, new[] { 1.0, 2, 3 }, "n"))
                .WithTitle("Lines").WithXTitle("n").WithLogY().Formats()))));
            cells.Add(Code("Chart.Bar(...)", Display(Bundle(Chart.Bar(new[] { "a", "b", "c" }, new[] { 3.0, 1, 2 }).WithTitle("Bars").WithSize(500, 300).Formats()))));
        }
        var nb = new JsonObject { ["nbformat"] = 4, ["nbformat_minor"] = 4, ["metadata"] = new JsonObject(), ["cells"] = cells };
        var path = Path.Combine(dir, "fixture.ipynb");
        File.WriteAllText(path, nb.ToJsonString());
        return path;
    }

    [Fact]
    public void Publish_writes_a_page_per_notebook_an_index_and_plotly_js_and_nothing_points_at_the_network()
    {
        var src = Temp();
        var site = Temp();
        var nb = WriteFixtureNotebook(src, withCharts: false);
        var pages = SitePublisher.Publish(new[] { nb }, site);
        pages.Should().ContainSingle();
        var p = pages[0];
        (p.Title, p.Cells, p.Outputs, p.Images, p.Errors).Should().Be(("Site fixture", 5, 4, 2, 0));
        File.Exists(Path.Combine(site, PlotlyJs.FileName)).Should().BeTrue();
        var html = File.ReadAllText(Path.Combine(site, "fixture.html"));
        html.Should().Contain("<table>").And.Contain("<strong>bold</strong>").And.Contain("hello").And.Contain($"<script src=\"{PlotlyJs.FileName}\">");
        File.ReadAllText(Path.Combine(site, "index.html")).Should().Contain("href=\"fixture.html\"").And.Contain("Site fixture");
        foreach (var f in Directory.GetFiles(site, "*.html"))
            Regex.IsMatch(File.ReadAllText(f), @"<(script|link|img)[^>]+(src|href)\s*=\s*[""']?(https?:)?//", RegexOptions.IgnoreCase).Should().BeFalse(f);
    }

    [Fact]
    public void A_malformed_notebook_is_named_and_nothing_is_written()
    {
        var src = Temp();
        var site = Path.Combine(Temp(), "site");
        var bad = Path.Combine(src, "bad.ipynb");
        File.WriteAllText(bad, "{ \"cells\": [ ");
        var act = () => SitePublisher.Publish(new[] { WriteFixtureNotebook(src, false), bad }, site);
        act.Should().Throw<InvalidDataException>().WithMessage($"{bad}: not valid JSON*");
        Directory.Exists(site).Should().BeFalse();
    }

    [ChromiumFact]
    public async Task Every_page_of_the_site_renders_in_Chromium_images_decode_charts_draw_no_console_errors()
    {
        var root = RepositoryRoot();
        var src = Temp();
        var fixture = WriteFixtureNotebook(src, withCharts: true);
        var site = Path.Combine(root, "out", "site-test");
        if (Directory.Exists(site)) Directory.Delete(site, true);
        var notebooks = SitePublisher.FindNotebooks(new[] { Path.Combine(root, "notebooks") }).Append(fixture).ToList();
        var pages = SitePublisher.Publish(notebooks, site);
        pages.Sum(p => p.Charts).Should().BeGreaterThanOrEqualTo(2);

        var (problems, counts) = await SiteBrowserCheck.CheckAsync(site, Path.Combine(root, "out", "site-screenshots"));
        foreach (var (page, (images, charts)) in counts) output.WriteLine($"{page}: {images} images, {charts} charts drawn");
        problems.Should().BeEmpty();
        counts.Should().ContainKey("index.html").And.HaveCount(notebooks.Count + 1);
        counts["fixture.html"].Should().Be((2, 2), "the PNG and SVG outputs are images; each chart's static image was replaced by its live drawing");
        File.Exists(Path.Combine(root, "out", "site-screenshots", "fixture.png")).Should().BeTrue();
    }

    [ChromiumFact]
    public async Task The_browser_check_catches_a_broken_image_a_script_error_an_undrawn_chart_and_a_network_request()
    {
        var site = Temp();
        File.WriteAllText(Path.Combine(site, "bad.html"),
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"></head><body>" +
            "<img alt=\"broken\" src=\"data:image/png;base64,AAAA\">" +
            "<div class=\"bf-chart\" id=\"c1\"><img alt=\"still\" src=\"data:image/png;base64," + SmallPng() + "\"></div>" +
            "<script>undefinedFunction();</script><img alt=\"remote\" src=\"https://example.invalid/x.png\"></body></html>");
        var (problems, _) = await SiteBrowserCheck.CheckAsync(site, Path.Combine(site, "shots"));
        problems.Select(p => p.Problem).Should().Contain(p => p.StartsWith("image does not decode: broken"))
            .And.Contain(p => p.StartsWith("chart not drawn: c1"))
            .And.Contain(p => p.StartsWith("script error:") && p.Contains("undefinedFunction"))
            .And.Contain(p => p.StartsWith("network request: https://example.invalid"));
    }
}
