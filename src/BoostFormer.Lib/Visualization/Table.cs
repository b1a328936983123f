using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace BoostFormer.Visualization;

/// <summary>
/// A table of rows and named columns that displays as HTML, Markdown and aligned text. Build it from records (public
/// properties/fields of any type, anonymous types included) or from dictionaries.
/// </summary>
public sealed class Table : RichOutput
{
    /// <summary>A table from column names and rows of cell values.</summary>
    public Table(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows, string? title = null, string? numberFormat = null)
    {
        for (int i = 0; i < rows.Count; i++)
            if (rows[i].Count != columns.Count)
                throw new ArgumentException($"table row {i} has {rows[i].Count} cells, but there are {columns.Count} columns", nameof(rows));
        Columns = columns;
        Rows = rows;
        Title = title;
        NumberFormat = numberFormat;
    }

    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Columns { get; }
    /// <summary>Cell values, row by row.</summary>
    public IReadOnlyList<IReadOnlyList<object?>> Rows { get; }
    /// <summary>Optional caption.</summary>
    public string? Title { get; }
    /// <summary>.NET format string for floating-point cells (default: up to 4 significant decimals).</summary>
    public string? NumberFormat { get; }

    /// <summary>
    /// A table with one row per record and one column per public instance property or field of <typeparamref name="T"/>
    /// (declaration order). Dictionaries with string keys become columns by key (union of keys, first-seen order).
    /// </summary>
    public static Table From<T>(IEnumerable<T> records, string? title = null, string? numberFormat = null)
    {
        var list = records.ToList();
        if (list.Count > 0 && list.All(r => r is IDictionary))
        {
            var cols = new List<string>();
            foreach (IDictionary d in list.Cast<IDictionary>())
                foreach (var k in d.Keys) { var s = Convert.ToString(k, CultureInfo.InvariantCulture)!; if (!cols.Contains(s)) cols.Add(s); }
            var drows = list.Cast<IDictionary>().Select(d => (IReadOnlyList<object?>)cols.Select(c => d.Contains(c) ? d[c] : null).ToList()).ToList();
            return new Table(cols, drows, title, numberFormat);
        }
        var type = list.FirstOrDefault()?.GetType() ?? typeof(T);
        var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m is PropertyInfo { CanRead: true } p && p.GetIndexParameters().Length == 0 || m is FieldInfo)
            .OrderBy(m => m.MetadataToken)
            .ToList();
        if (members.Count == 0) throw new ArgumentException($"Table.From: type {type.Name} has no public properties or fields to use as columns", nameof(records));
        var rows = list.Select(r => (IReadOnlyList<object?>)members.Select(m => m switch
        {
            PropertyInfo p => p.GetValue(r),
            FieldInfo f => f.GetValue(r),
            _ => null,
        }).ToList()).ToList();
        return new Table(members.Select(m => m.Name).ToList(), rows, title, numberFormat);
    }

    /// <summary>A copy with a caption.</summary>
    public Table WithTitle(string title) => new(Columns, Rows, title, NumberFormat);

    /// <summary>A copy that formats floating-point cells with <paramref name="format"/> (e.g. "F2", "N0", "P1").</summary>
    public Table WithNumberFormat(string format) => new(Columns, Rows, Title, format);

    /// <summary>The text of one cell.</summary>
    public string FormatCell(object? v) => v switch
    {
        null => "",
        double d => NumberFormat is null ? FormatNumber(d) : d.ToString(NumberFormat, CultureInfo.InvariantCulture),
        float f => NumberFormat is null ? FormatNumber(f) : f.ToString(NumberFormat, CultureInfo.InvariantCulture),
        decimal m => m.ToString(NumberFormat, CultureInfo.InvariantCulture),
        IFormattable fm => fm.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private static string FormatNumber(double d) =>
        double.IsNaN(d) ? "NaN" : Math.Abs(d) >= 1e6 || (d != 0 && Math.Abs(d) < 1e-3)
            ? d.ToString("0.###e+0", CultureInfo.InvariantCulture)
            : d.ToString("0.####", CultureInfo.InvariantCulture);

    private static bool IsNumeric(object? v) => v is sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal;

    /// <summary>GitHub-flavoured Markdown (numeric columns right-aligned).</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        if (Title is not null) sb.Append("**").Append(Title).Append("**\n\n");
        sb.Append("| ").Append(string.Join(" | ", Columns.Select(EscapeMd))).Append(" |\n");
        sb.Append('|').Append(string.Join("|", Columns.Select((_, j) => RightAligned(j) ? "---:" : "---"))).Append("|\n");
        foreach (var r in Rows) sb.Append("| ").Append(string.Join(" | ", r.Select(c => EscapeMd(FormatCell(c))))).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>
    /// RFC 4180 CSV: a header row of the column names, then one row per record with full-precision invariant numbers
    /// (not the display format), fields quoted when they hold a comma, quote or line break.
    /// </summary>
    public string ToCsv()
    {
        static string Field(object? v)
        {
            var t = v switch
            {
                null => "",
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                float f => f.ToString("R", CultureInfo.InvariantCulture),
                IFormattable fm => fm.ToString(null, CultureInfo.InvariantCulture),
                _ => v.ToString() ?? "",
            };
            return t.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + t.Replace("\"", "\"\"") + "\"" : t;
        }
        var sb = new StringBuilder();
        sb.Append(string.Join(",", Columns.Select(Field))).Append('\n');
        foreach (var r in Rows) sb.Append(string.Join(",", r.Select(Field))).Append('\n');
        return sb.ToString();
    }

    private static string EscapeMd(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    private bool RightAligned(int column) => Rows.Count > 0 && Rows.All(r => r[column] is null || IsNumeric(r[column]));

    /// <inheritdoc />
    public override string ToHtml()
    {
        var sb = new StringBuilder("<table class=\"bf-table\" style=\"border-collapse:collapse;font:13px sans-serif\">");
        if (Title is not null) sb.Append("<caption style=\"font-weight:bold;padding:4px\">").Append(Escape(Title)).Append("</caption>");
        sb.Append("<thead><tr>");
        foreach (var c in Columns) sb.Append("<th style=\"border-bottom:1px solid #888;padding:2px 8px;text-align:left\">").Append(Escape(c)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var r in Rows)
        {
            sb.Append("<tr>");
            for (int j = 0; j < r.Count; j++)
                sb.Append($"<td style=\"padding:2px 8px;text-align:{(RightAligned(j) ? "right" : "left")}\">").Append(Escape(FormatCell(r[j]))).Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</tbody></table>").ToString();
    }

    /// <summary>Plain text with aligned columns.</summary>
    public override string ToString()
    {
        var cells = Rows.Select(r => r.Select(FormatCell).ToArray()).ToList();
        var widths = Columns.Select((c, j) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[j].Length))).ToArray();
        var sb = new StringBuilder();
        if (Title is not null) sb.Append(Title).Append('\n');
        sb.Append(string.Join("  ", Columns.Select((c, j) => c.PadRight(widths[j]))).TrimEnd()).Append('\n');
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
