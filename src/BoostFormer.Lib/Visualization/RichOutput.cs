using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;

namespace BoostFormer.Visualization;

/// <summary>
/// An object that knows how to show itself in a notebook: one or more representations, each a MIME type and its data
/// (text, or base64 for binary types such as <c>image/png</c>), most preferred first. The headless runner writes them as a
/// Jupyter MIME bundle.
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
/// Base class of the displayable types: a rich output for the headless runner that is also ASP.NET Core's
/// <see cref="IHtmlContent"/>, which Polyglot Notebooks (.NET Interactive) renders as HTML.
/// </summary>
public abstract class RichOutput : IRichOutput, IHtmlContent
{
    /// <inheritdoc />
    public abstract IEnumerable<(string Mime, string Data)> Formats();

    /// <summary>The HTML representation (a self-contained fragment: images are inlined as data URIs).</summary>
    public abstract string ToHtml();

    /// <summary>Writes <see cref="ToHtml"/> (already encoded HTML).</summary>
    public void WriteTo(TextWriter writer, HtmlEncoder encoder) => writer.Write(ToHtml());

    /// <summary>Escapes text for inclusion in HTML or SVG.</summary>
    public static string Escape(string? s) => System.Net.WebUtility.HtmlEncode(s ?? "");
}
