using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Visualization;
using Markdig;

namespace BoostFormer.Notebooks;

/// <summary>One page of a published site.</summary>
/// <param name="Source">The notebook it was rendered from.</param>
/// <param name="Page">The HTML file written.</param>
/// <param name="Title">The notebook's first heading (else its file name).</param>
/// <param name="Cells">Cells rendered.</param>
/// <param name="Outputs">Outputs rendered (streams, results, displays, errors).</param>
/// <param name="Charts">Plotly charts among the outputs.</param>
/// <param name="Images">Images among the outputs (PNG, JPEG, SVG), static chart images included.</param>
/// <param name="Errors">Error outputs (a notebook that failed when it was executed).</param>
public sealed record SitePage(string Source, string Page, string Title, int Cells, int Outputs, int Charts, int Images, int Errors);

/// <summary>
/// Renders executed notebooks (.ipynb, nbformat 4) into a static HTML site that needs no network: one page per notebook
/// — Markdown cells as HTML (Markdig), code cells with their source and every output (streams, <c>text/html</c>,
/// <c>image/png</c>/<c>jpeg</c>/<c>svg+xml</c>, <c>text/markdown</c>, <c>text/plain</c>, errors) — plus
/// <c>index.html</c>, a stylesheet and the plotly.js that ships in the Plotly.NET package, which every page loads first so
/// each chart output draws its live chart over its static image. Reads the files with System.Text.Json only (no kernel
/// needed); each file is written to a temporary file and renamed.
/// </summary>
public static class SitePublisher
{
    /// <summary>The stylesheet's file name in the site.</summary>
    public const string StylesheetName = "site.css";

    private static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    /// <summary>The notebooks among <paramref name="inputs"/> (files, or folders searched for *.ipynb), sorted by name.</summary>
    public static IReadOnlyList<string> FindNotebooks(IEnumerable<string> inputs)
    {
        var list = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input)) list.AddRange(Directory.GetFiles(input, "*.ipynb").Order(StringComparer.Ordinal));
            else if (File.Exists(input))
            {
                if (!input.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"'{input}' is not a notebook (.ipynb)");
                list.Add(input);
            }
            else throw new FileNotFoundException($"'{input}' does not exist", input);
        }
        return list.Distinct().ToList();
    }

    /// <summary>
    /// Writes the site for <paramref name="notebooks"/> into <paramref name="outputDirectory"/>: one page per notebook
    /// (named after it), <c>index.html</c>, <see cref="StylesheetName"/> and plotly.js. A notebook that is not valid
    /// nbformat JSON stops the run with an <see cref="InvalidDataException"/> naming the file, before anything is written.
    /// </summary>
    public static IReadOnlyList<SitePage> Publish(IReadOnlyList<string> notebooks, string outputDirectory, TextWriter? log = null)
    {
        if (notebooks.Count == 0) throw new ArgumentException("no notebooks to publish", nameof(notebooks));
        var parsed = notebooks.Select(n => (Path: n, Json: Load(n))).ToList();
        Directory.CreateDirectory(outputDirectory);
        var plotly = Path.GetFileName(PlotlyJs.WriteTo(outputDirectory));
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, StylesheetName), Stylesheet);
        var pages = new List<SitePage>();
        foreach (var (path, json) in parsed)
        {
            var name = Path.GetFileNameWithoutExtension(path) + ".html";
            var page = RenderPage(json, path, plotly, out var stats);
            var target = Path.Combine(outputDirectory, name);
            AtomicFile.WriteAllText(target, page);
            var p = stats with { Source = path, Page = target };
            pages.Add(p);
            log?.WriteLine($"{name}: {p.Cells} cells, {p.Outputs} outputs, {p.Charts} charts, {p.Images} images{(p.Errors > 0 ? $", {p.Errors} ERROR outputs" : "")}");
        }
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "index.html"), RenderIndex(pages, plotly));
        log?.WriteLine($"index.html: {pages.Count} notebooks → {Path.GetFullPath(outputDirectory)}");
        return pages;
    }

    private static JsonObject Load(string path)
    {
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
            if (node["cells"] is not JsonArray) throw new InvalidDataException($"{path}: no \"cells\" array (not an nbformat 4 notebook)");
            return node;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})");
        }
    }

    private static string Text(JsonNode? source) => source switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => x?.GetValue<string>() ?? "")),
        JsonValue v => v.GetValue<string>(),
        _ => source.ToJsonString(),
    };

    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static readonly Regex Ansi = new(@"\x1b\[[0-9;]*[A-Za-z]", RegexOptions.Compiled);
    private static readonly Regex Heading = new(@"^#\s+(.+)$", RegexOptions.Multiline | RegexOptions.Compiled);

    private static string RenderPage(JsonObject nb, string path, string plotly, out SitePage stats)
    {
        int cells = 0, outputs = 0, charts = 0, images = 0, errors = 0;
        string? title = null;
        var body = new StringBuilder();
        foreach (var cell in ((JsonArray)nb["cells"]!).OfType<JsonObject>())
        {
            cells++;
            var kind = cell["cell_type"]?.GetValue<string>();
            var source = Text(cell["source"]);
            if (kind == "markdown")
            {
                title ??= Heading.Match(source) is { Success: true } m ? m.Groups[1].Value.Trim() : null;
                body.Append("<section class=\"cell markdown\">").Append(Markdig.Markdown.ToHtml(source, Markdown)).Append("</section>\n");
                continue;
            }
            if (kind != "code") { body.Append("<section class=\"cell raw\"><pre>").Append(Esc(source)).Append("</pre></section>\n"); continue; }
            var count = cell["execution_count"] is JsonValue ec && ec.TryGetValue<int>(out var n) ? $"[{n}]" : "[ ]";
            body.Append("<section class=\"cell code\"><div class=\"prompt\">").Append(count).Append("</div><pre class=\"source\"><code class=\"language-csharp\">")
                .Append(Esc(source)).Append("</code></pre>");
            foreach (var output in (cell["outputs"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                outputs++;
                body.Append("<div class=\"output\">");
                switch (output["output_type"]?.GetValue<string>())
                {
                    case "stream":
                        body.Append("<pre class=\"stream ").Append(Esc(output["name"]?.GetValue<string>() ?? "stdout")).Append("\">")
                            .Append(Esc(Ansi.Replace(Text(output["text"]), ""))).Append("</pre>");
                        break;
                    case "error":
                        errors++;
                        body.Append("<pre class=\"error\">").Append(Esc($"{output["ename"]?.GetValue<string>()}: {output["evalue"]?.GetValue<string>()}"));
                        foreach (var line in (output["traceback"] as JsonArray ?? new JsonArray())) body.Append('\n').Append(Esc(Ansi.Replace(line?.GetValue<string>() ?? "", "")));
                        body.Append("</pre>");
                        break;
                    default:
                        body.Append(RenderBundle(output["data"] as JsonObject ?? new JsonObject(), ref charts, ref images));
                        break;
                }
                body.Append("</div>");
            }
            body.Append("</section>\n");
        }
        title ??= Path.GetFileNameWithoutExtension(path);
        stats = new SitePage(path, "", title, cells, outputs, charts, images, errors);
        return Page(title, plotly, $"<nav><a href=\"index.html\">← all notebooks</a> · <span class=\"file\">{Esc(Path.GetFileName(path))}</span></nav>\n<main>\n{body}</main>");
    }

    /// <summary>The richest representation a browser shows: HTML, then images, Markdown, plain text.</summary>
    private static string RenderBundle(JsonObject data, ref int charts, ref int images)
    {
        if (data["text/html"] is { } html)
        {
            var h = Text(html);
            if (h.Contains("class=\"bf-chart\"", StringComparison.Ordinal)) { charts++; images += h.Contains("<img", StringComparison.Ordinal) ? 1 : 0; }
            else images += Regex.Matches(h, "<img\\b|<svg\\b").Count;
            return h;
        }
        foreach (var mime in new[] { "image/png", "image/jpeg" })
            if (data[mime] is { } img)
            {
                images++;
                return $"<img src=\"data:{mime};base64,{Text(img).Replace("\n", "")}\" alt=\"output\">";
            }
        if (data["image/svg+xml"] is { } svg)
        {
            images++;
            return $"<img src=\"data:image/svg+xml;base64,{Convert.ToBase64String(Encoding.UTF8.GetBytes(Text(svg)))}\" alt=\"output\">";
        }
        if (data["text/markdown"] is { } md) return "<div class=\"markdown\">" + Markdig.Markdown.ToHtml(Text(md), Markdown) + "</div>";
        if (data["text/plain"] is { } plain) return "<pre>" + Esc(Text(plain)) + "</pre>";
        return "";
    }

    private static string RenderIndex(IReadOnlyList<SitePage> pages, string plotly)
    {
        var sb = new StringBuilder("<main>\n<h1>BoostFormer workbook</h1>\n<p>The executed notebooks, rendered offline. ")
            .Append("Charts are interactive (plotly.js ").Append(Esc(PlotlyJs.Version)).Append(", served from this folder).</p>\n<table class=\"index\"><thead><tr><th>notebook</th><th>title</th><th>cells</th><th>outputs</th><th>charts</th><th>images</th></tr></thead><tbody>\n");
        foreach (var p in pages)
        {
            var file = Path.GetFileName(p.Page);
            sb.Append("<tr><td><a href=\"").Append(Uri.EscapeDataString(file)).Append("\">").Append(Esc(Path.GetFileNameWithoutExtension(p.Source))).Append("</a></td><td>")
                .Append(Esc(p.Title)).Append("</td><td>").Append(p.Cells).Append("</td><td>").Append(p.Outputs).Append("</td><td>").Append(p.Charts)
                .Append("</td><td>").Append(p.Images).Append("</td></tr>\n");
        }
        sb.Append("</tbody></table>\n</main>");
        return Page("BoostFormer workbook", plotly, sb.ToString());
    }

    private static string Page(string title, string plotly, string body) =>
        $"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
        $"<title>{Esc(title)}</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"{StylesheetName}\">\n<script src=\"{Esc(plotly)}\"></script>\n</head>\n<body>\n{body}\n</body>\n</html>\n";

    private const string Stylesheet = """
        body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 16px 48px; color: #222; }
        nav { padding: 10px 0; border-bottom: 1px solid #ddd; margin-bottom: 12px; }
        nav .file { color: #666; }
        .cell { margin: 14px 0; }
        .cell.code .prompt { color: #888; font: 12px monospace; }
        pre { overflow-x: auto; padding: 8px 10px; border-radius: 4px; margin: 4px 0; }
        pre.source { background: #f5f7fa; border: 1px solid #e3e7ee; }
        pre.stream, .output > pre { background: #fff; border-left: 3px solid #cdd; }
        pre.stderr { border-left-color: #e0b44c; }
        pre.error { background: #fff0f0; border-left: 3px solid #d33; }
        .output { margin: 6px 0 6px 12px; overflow-x: auto; }
        .output img { max-width: 100%; height: auto; }
        table { border-collapse: collapse; }
        .markdown table td, .markdown table th, table.index td, table.index th { border: 1px solid #ddd; padding: 3px 8px; }
        code { font-family: ui-monospace, monospace; font-size: 13px; }

        """;
}
