using System.Text.Json;
using PuppeteerSharp;
using BoostFormer.Training.Checkpoints;

namespace BoostFormer.Visualization;

/// <summary>
/// Renders Plotly.NET charts to PNG/SVG/JPEG with plotly.js (<see cref="PlotlyJs"/>, the copy inside the Plotly.NET
/// package — no network) in a local headless Chromium driven by PuppeteerSharp, as Plotly.NET.ImageExport does; unlike
/// that package's renderer, which launches a browser for every image (about 2.5 s each) and is bound to Plotly.NET's
/// types (which this library keeps in a private load context, <see cref="PlotlyContext"/>), it keeps one browser and one
/// page with plotly.js loaded for the whole process (<see cref="Shared"/>), so a chart costs one <c>Plotly.toImage</c>
/// call. Calls are serialised.
/// </summary>
public sealed class ChromiumChartRenderer : IDisposable
{
    /// <summary>Chromium flags: root needs <c>--no-sandbox</c>; containers have a small /dev/shm and no GPU.</summary>
    public static readonly string[] LaunchArguments = { "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage" };

    private static readonly Lazy<ChromiumChartRenderer> SharedInstance = new(() =>
    {
        var r = new ChromiumChartRenderer(FindChromium());
        AppDomain.CurrentDomain.ProcessExit += (_, _) => r.Dispose();
        return r;
    });

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IBrowser? _browser;
    private IPage? _page;
    private bool _disposed;

    /// <summary>A renderer for the Chromium at <paramref name="executablePath"/> (null: none; every render then throws).</summary>
    public ChromiumChartRenderer(string? executablePath) => ExecutablePath = executablePath;

    /// <summary>The process-wide renderer (the browser starts at the first render and stops when the process exits).</summary>
    public static ChromiumChartRenderer Shared => SharedInstance.Value;

    /// <summary>The Chromium executable, or null when none was found.</summary>
    public string? ExecutablePath { get; }

    /// <summary>
    /// The Chromium to use: <c>BOOSTFORMER_CHROMIUM</c> when set, else the first of /usr/bin/chromium (Debian's
    /// <c>chromium</c> package, installed by scripts/setup.sh), chromium-browser, google-chrome; null when none exists.
    /// </summary>
    public static string? FindChromium()
    {
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_CHROMIUM");
        if (!string.IsNullOrWhiteSpace(env)) return File.Exists(env) ? env : null;
        return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Renders a figure (Plotly JSON: <c>data</c>, <c>layout</c>) and returns the image as a data URL
    /// (<c>data:image/png;base64,…</c>, or <c>data:image/svg+xml,…</c> for SVG).
    /// </summary>
    public async Task<string> RenderDataUrlAsync(string figureJson, string format, int width, int height, double scale = 1)
    {
        if (format is not ("png" or "jpeg" or "svg")) throw new ArgumentException($"image format must be png, jpeg or svg, got '{format}'", nameof(format));
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size must be positive, got {width}x{height}");
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var page = await PageAsync().ConfigureAwait(false);
            return await page.EvaluateFunctionAsync<string>(
                "(fig, format, w, h, s) => { const f = JSON.parse(fig); " +
                "return Plotly.toImage({ data: f.data, layout: f.layout || {} }, { format: format, width: w, height: h, scale: s }); }",
                figureJson, format, width, height, scale).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A PNG of the figure, <paramref name="width"/> × <paramref name="height"/> pixels times <paramref name="scale"/>.</summary>
    public byte[] RenderPng(string figureJson, int width, int height, double scale = 1)
    {
        var url = RenderDataUrlAsync(figureJson, "png", width, height, scale).GetAwaiter().GetResult();
        return Convert.FromBase64String(url[(url.IndexOf(',') + 1)..]);
    }

    private async Task<IPage> PageAsync()
    {
        if (_page is { IsClosed: false }) return _page;
        if (ExecutablePath is null)
            throw new InvalidOperationException("no Chromium found for static chart images: install Debian's chromium (scripts/setup.sh) or set BOOSTFORMER_CHROMIUM");
        if (_browser is not { IsConnected: true })
        {
            if (_browser is not null) await _browser.DisposeAsync().ConfigureAwait(false);
            _browser = await Launch(new LaunchOptions
            {
                Headless = true, ExecutablePath = ExecutablePath, Args = LaunchArguments, Timeout = 120_000, ProtocolTimeout = 300_000,
            }).ConfigureAwait(false);
        }
        var page = await _browser.NewPageAsync().ConfigureAwait(false);
        await page.SetContentAsync("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>").ConfigureAwait(false);
        await page.AddScriptTagAsync(new AddTagOptions { Content = PlotlyJs.Source }).ConfigureAwait(false);
        return _page = page;
    }

    /// <summary>
    /// <c>Puppeteer.LaunchAsync(options, loggerFactory: null)</c>, called through reflection. A direct call would put
    /// <c>ILoggerFactory</c> (Microsoft.Extensions.Logging.Abstractions) into this assembly's call site, and the C#
    /// kernel's script assembly loader (Roslyn's <c>CoreAssemblyLoaderImpl</c>) gives each assembly loaded by <c>#r</c>
    /// its own load context: measured in the .NET Interactive kernel, PuppeteerSharp and this library then each got their
    /// own copy of that assembly and the call failed with <c>MissingMethodException</c>. Bound inside PuppeteerSharp's
    /// own context, the method resolves against PuppeteerSharp's copy.
    /// </summary>
    private static Task<IBrowser> Launch(LaunchOptions options)
    {
        var method = typeof(Puppeteer).GetMethods().Single(m => m.Name == nameof(Puppeteer.LaunchAsync) && m.GetParameters().Length == 2);
        return (Task<IBrowser>)method.Invoke(null, new object?[] { options, null })!;
    }

    /// <summary>Closes the browser.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _browser?.CloseAsync().Wait(TimeSpan.FromSeconds(10)); }
        catch (Exception) { /* the browser may already be gone at process exit */ }
        _browser?.Dispose();
    }
}

/// <summary>plotly.js as shipped inside the Plotly.NET package (an embedded resource of Plotly.NET.dll): no CDN needed.</summary>
public static class PlotlyJs
{
    private static readonly Lazy<(string Name, string Source)> Resource = new(PlotlyContext.PlotlyJs);

    /// <summary>The minified plotly.js source.</summary>
    public static string Source => Resource.Value.Source;

    /// <summary>Its file name, e.g. <c>plotly-2.28.0.min.js</c>.</summary>
    public static string FileName => Resource.Value.Name;

    /// <summary>The plotly.js version, e.g. <c>2.28.0</c>.</summary>
    public static string Version => FileName["plotly-".Length..^".min.js".Length];

    /// <summary>Writes plotly.js into <paramref name="directory"/> (temp file + rename) and returns its path.</summary>
    public static string WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        AtomicFile.WriteAllText(path, Source);
        return path;
    }

    /// <summary>JSON-escapes a string for a script (also escapes <c>&lt;/</c> so a figure cannot close its script element).</summary>
    internal static string ScriptSafe(string json) => json.Replace("</", "<\\/", StringComparison.Ordinal);

    internal static string Quote(string s) => JsonSerializer.Serialize(s);
}
