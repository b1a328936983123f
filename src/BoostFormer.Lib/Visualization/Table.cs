using System.Text;
using Microsoft.Data.Analysis;

namespace BoostFormer.Visualization;

/// <summary>
/// A results table: a Microsoft.Data.Analysis <see cref="DataFrame"/> (<see cref="Frame"/>) with an optional caption and
/// number format, displayed as HTML, Markdown and aligned text. Build it from records (public properties/fields of any
/// type, anonymous types included), dictionaries, cells, or any DataFrame. Files under <c>results/</c> are written from
/// the frame (<see cref="DataFrames.ToMarkdown"/>, <see cref="DataFrames.ToCsv"/>).
/// </summary>
public sealed class Table : RichOutput
{
    /// <summary>A table over <paramref name="frame"/>.</summary>
    public Table(DataFrame frame, string? title = null, string? numberFormat = null)
    {
        Frame = frame ?? throw new ArgumentNullException(nameof(frame));
        Title = title;
        NumberFormat = numberFormat;
    }

    /// <summary>A table from column names and rows of cell values (column types inferred).</summary>
    public Table(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows, string? title = null, string? numberFormat = null)
        : this(DataFrames.FromCells(columns, rows), title, numberFormat)
    {
    }

    /// <summary>The data.</summary>
    public DataFrame Frame { get; }
    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Columns => Frame.Columns.Select(c => c.Name).ToList();
    /// <summary>Cell values, row by row (null for missing values).</summary>
    public IReadOnlyList<IReadOnlyList<object?>> Rows => Enumerable.Range(0, (int)Frame.Rows.Count).Select(i => DataFrames.Row(Frame, i)).ToList();
    /// <summary>Optional caption.</summary>
    public string? Title { get; }
    /// <summary>.NET format string for floating-point cells (default: up to 4 significant decimals).</summary>
    public string? NumberFormat { get; }

    /// <summary>
    /// A table with one row per record and one column per public instance property or field of <typeparamref name="T"/>
    /// (declaration order). Dictionaries with string keys become columns by key (union of keys, first-seen order).
    /// </summary>
    public static Table From<T>(IEnumerable<T> records, string? title = null, string? numberFormat = null) =>
        new(DataFrames.FromRecords(records), title, numberFormat);

    /// <summary>A table over a DataFrame.</summary>
    public static Table From(DataFrame frame, string? title = null, string? numberFormat = null) => new(frame, title, numberFormat);

    /// <summary>A copy with a caption.</summary>
    public Table WithTitle(string title) => new(Frame, title, NumberFormat);

    /// <summary>A copy that formats floating-point cells with <paramref name="format"/> (e.g. "F2", "N0", "P1").</summary>
    public Table WithNumberFormat(string format) => new(Frame, Title, format);

    /// <summary>The text of one cell.</summary>
    public string FormatCell(object? v) => DataFrames.FormatCell(v, NumberFormat);

    /// <summary>GitHub-flavoured Markdown (numeric columns right-aligned).</summary>
    public string ToMarkdown() => DataFrames.ToMarkdown(Frame, Title, NumberFormat);

    /// <summary>
    /// RFC 4180 CSV: a header row of the column names, then one row per record with full-precision invariant numbers
    /// (not the display format), fields quoted when they hold a comma, quote or line break.
    /// </summary>
    public string ToCsv() => DataFrames.ToCsv(Frame);

    private bool RightAligned(int column) => DataFrames.RightAligned(Frame, Frame.Columns[column]);

    /// <inheritdoc />
    public override string ToHtml()
    {
        var sb = new StringBuilder("<table class=\"bf-table\" style=\"border-collapse:collapse;font:13px sans-serif\">");
        if (Title is not null) sb.Append("<caption style=\"font-weight:bold;padding:4px\">").Append(Escape(Title)).Append("</caption>");
        sb.Append("<thead><tr>");
        foreach (var c in Frame.Columns) sb.Append("<th style=\"border-bottom:1px solid #888;padding:2px 8px;text-align:left\">").Append(Escape(c.Name)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        for (long i = 0; i < Frame.Rows.Count; i++)
        {
            sb.Append("<tr>");
            for (int j = 0; j < Frame.Columns.Count; j++)
                sb.Append($"<td style=\"padding:2px 8px;text-align:{(RightAligned(j) ? "right" : "left")}\">").Append(Escape(FormatCell(Frame.Columns[j][i]))).Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</tbody></table>").ToString();
    }

    /// <summary>Plain text with aligned columns.</summary>
    public override string ToString()
    {
        var cells = Rows.Select(r => r.Select(FormatCell).ToArray()).ToList();
        var columns = Columns;
        var widths = columns.Select((c, j) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[j].Length))).ToArray();
        var sb = new StringBuilder();
        if (Title is not null) sb.Append(Title).Append('\n');
        sb.Append(string.Join("  ", columns.Select((c, j) => c.PadRight(widths[j]))).TrimEnd()).Append('\n');
        sb.Append(string.Join("  ", widths.Select(w => new string('-', w)))).Append('\n');
        foreach (var r in cells)
            sb.Append(string.Join("  ", r.Select((c, j) => RightAligned(j) ? c.PadLeft(widths[j]) : c.PadRight(widths[j]))).TrimEnd()).Append('\n');
        return sb.ToString().TrimEnd('\n');
    }

    /// <inheritdoc />
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        yield return (MimeTypes.Html, ToHtml());
        yield return (MimeTypes.Markdown, ToMarkdown());
        yield return (MimeTypes.Plain, ToString());
    }
}
