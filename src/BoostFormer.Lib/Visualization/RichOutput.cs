namespace BoostFormer.Visualization;

/// <summary>
/// An object that knows how to show itself in a notebook: one or more representations, each a MIME type and its data
/// (text, or base64 for binary types such as <c>image/png</c>), most preferred first.
/// </summary>
public interface IRichOutput
{
    /// <summary>The representations of this object as (MIME type, data) pairs.</summary>
    IEnumerable<(string Mime, string Data)> Formats();
}

/// <summary>MIME type names used by the rich outputs.</summary>
public static class MimeTypes
{
    public const string Plain = "text/plain";
    public const string Html = "text/html";
    public const string Markdown = "text/markdown";
    public const string Png = "image/png";
    public const string Svg = "image/svg+xml";
}

/// <summary>
/// Base class of the displayable types. In a .NET Interactive kernel (Polyglot Notebooks, Jupyter's <c>.net-csharp</c>,
/// <c>boostformer notebooks run</c>) <c>display(x)</c> and a cell's trailing expression show it as <c>text/html</c>
/// (<see cref="ToHtml"/>) plus <c>text/plain</c> (<see cref="object.ToString"/>), through
/// <see cref="TypeFormatterSourceAttribute"/> — the kernel's convention-based formatter sources, so this library needs
/// no reference to the kernel's assemblies.
/// </summary>
[TypeFormatterSource(typeof(RichOutputFormatterSource), PreferredMimeTypes = new[] { MimeTypes.Html, MimeTypes.Plain })]
public abstract class RichOutput : IRichOutput
{
    /// <inheritdoc />
    public abstract IEnumerable<(string Mime, string Data)> Formats();

    /// <summary>The HTML representation (a self-contained fragment: images are inlined as data URIs).</summary>
    public abstract string ToHtml();

    /// <summary>Escapes text for inclusion in HTML or SVG.</summary>
    public static string Escape(string? s) => System.Net.WebUtility.HtmlEncode(s ?? "");
}

/// <summary>
/// Markdown text shown as <c>text/markdown</c> (plus the text as <c>text/plain</c>): <c>display(new Markdown($"**{x}**"))</c>.
/// </summary>
[TypeFormatterSource(typeof(RichOutputFormatterSource), PreferredMimeTypes = new[] { MimeTypes.Markdown, MimeTypes.Plain })]
public sealed class Markdown(string text) : RichOutput
{
    /// <summary>The Markdown source.</summary>
    public string Text { get; } = text ?? throw new ArgumentNullException(nameof(text));

    /// <inheritdoc />
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        yield return (MimeTypes.Markdown, Text);
        yield return (MimeTypes.Plain, Text);
    }

    /// <summary>The text, escaped, in a <c>&lt;pre&gt;</c> (renderers that take HTML show Markdown as <c>text/markdown</c>).</summary>
    public override string ToHtml() => $"<pre>{Escape(Text)}</pre>";

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>
/// Marks a type whose values a .NET Interactive kernel formats with the formatters of <see cref="FormatterSourceType"/>.
/// The kernel's <c>Formatter</c> finds this attribute by its name and reads its properties by name (convention-based
/// formatter sources), so the library does not reference <c>Microsoft.DotNet.Interactive.Formatting</c>, which would tie
/// it to one kernel version.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface, Inherited = true, AllowMultiple = false)]
public sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
{
    /// <summary>A type with a public parameterless constructor and a public <c>CreateTypeFormatters()</c>.</summary>
    public Type FormatterSourceType { get; } = formatterSourceType;

    /// <summary>The MIME types the kernel produces for a value of the attributed type, in order.</summary>
    public string[]? PreferredMimeTypes { get; set; }
}

/// <summary>The kernel formatters of <see cref="RichOutput"/>: one per MIME type the displayable types produce.</summary>
public sealed class RichOutputFormatterSource
{
    /// <summary>Called by the kernel (by name) the first time it formats an attributed type.</summary>
    public IEnumerable<object> CreateTypeFormatters() =>
        new[] { MimeTypes.Html, MimeTypes.Plain, MimeTypes.Markdown, MimeTypes.Png, MimeTypes.Svg }.Select(m => new RichOutputFormatter(m));
}

/// <summary>One kernel formatter (read by the kernel by member names: <c>MimeType</c>, <c>Type</c>, <c>Format</c>).</summary>
public sealed class RichOutputFormatter(string mimeType)
{
    /// <summary>The MIME type this formatter writes.</summary>
    public string MimeType { get; } = mimeType;

    /// <summary>The type it formats (and its subtypes).</summary>
    public Type Type => typeof(RichOutput);

    /// <summary>Writes the <see cref="MimeType"/> representation of <paramref name="instance"/>; false when it has none.</summary>
    public bool Format(object instance, TextWriter writer)
    {
        if (instance is not RichOutput rich) return false;
        string? data = MimeType switch
        {
            MimeTypes.Html => rich.ToHtml(),
            MimeTypes.Plain => rich.ToString() ?? rich.GetType().Name,
            _ => rich.Formats().Where(f => f.Mime == MimeType).Select(f => f.Data).FirstOrDefault(),
        };
        if (data is null) return false;
        writer.Write(data);
        return true;
    }
}
