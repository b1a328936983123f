namespace BoostFormer.Visualization;

/// <summary>
/// A display rendered as SVG (charts, diagrams): shown as <c>image/svg+xml</c> plus the same SVG inline in
/// <c>text/html</c> — some renderers (Debian's nbconvert 6.5, which passes SVG outputs through lxml's HTML cleaner)
/// strip the elements of an <c>image/svg+xml</c> output, and they prefer <c>text/html</c> anyway.
/// </summary>
public abstract class SvgOutput : RichOutput
{
    /// <summary>The standalone SVG document.</summary>
    public abstract string ToSvg();

    /// <summary>Writes the SVG to a file (temp file + rename).</summary>
    public void Save(string path)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, ToSvg());
        File.Move(tmp, path, overwrite: true);
    }

    /// <inheritdoc />
    public override string ToHtml() => ToSvg();

    /// <inheritdoc />
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        var svg = ToSvg();
        yield return (MimeTypes.Svg, svg);
        yield return (MimeTypes.Html, svg);
        yield return (MimeTypes.Plain, ToString() ?? GetType().Name);
    }
}
