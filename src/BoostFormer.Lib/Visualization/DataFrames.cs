using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Data.Analysis;

namespace BoostFormer.Visualization;

/// <summary>
/// Microsoft.Data.Analysis <see cref="DataFrame"/>s for the workbook's results tables: built from records or cells with
/// typed columns (numbers stay numbers, nulls stay nulls), and written as GitHub Markdown and RFC 4180 CSV in the
/// formats of <c>results/*.md</c> and <c>.csv</c>. DataFrame's own <c>SaveCsv</c> is not used for the files: it writes
/// doubles in the current culture's default format (not round-trip) and never quotes a field that holds a comma.
/// </summary>
public static class DataFrames
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// A frame with one row per record and one column per public instance property or field (declaration order), typed
    /// by the member's type (<c>double?</c> → a nullable double column, strings → string column; other types as their
    /// invariant text). Dictionaries with string keys become columns by key (union of keys, first-seen order), typed by
    /// their values.
    /// </summary>
    public static DataFrame FromRecords<T>(IEnumerable<T> records)
    {
        var list = records.ToList();
        if (list.Count > 0 && list.All(r => r is IDictionary))
        {
            var cols = new List<string>();
            foreach (IDictionary d in list.Cast<IDictionary>())
                foreach (var k in d.Keys) { var s = Convert.ToString(k, Inv)!; if (!cols.Contains(s)) cols.Add(s); }
            var rows = list.Cast<IDictionary>().Select(d => (IReadOnlyList<object?>)cols.Select(c => d.Contains(c) ? d[c] : null).ToList()).ToList();
            return FromCells(cols, rows);
        }
        var type = list.FirstOrDefault()?.GetType() ?? typeof(T);
        var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m is PropertyInfo { CanRead: true } p && p.GetIndexParameters().Length == 0 || m is FieldInfo)
            .OrderBy(m => m.MetadataToken)
            .ToList();
        if (members.Count == 0) throw new ArgumentException($"Table.From: type {type.Name} has no public properties or fields to use as columns", nameof(records));
        var columns = members.Select(m =>
        {
            var memberType = m is PropertyInfo p ? p.PropertyType : ((FieldInfo)m).FieldType;
            var values = list.Select(r => m is PropertyInfo pi ? pi.GetValue(r) : ((FieldInfo)m).GetValue(r)).ToList();
            var t = Nullable.GetUnderlyingType(memberType) ?? memberType;
            return t == typeof(object) ? FromCells(new[] { m.Name }, values.Select(v => (IReadOnlyList<object?>)new[] { v }).ToList()).Columns[0].Clone() : Column(m.Name, t, values);
        });
        return new DataFrame(columns);
    }

    /// <summary>A frame from column names and rows of cells; each column's type is inferred from its non-null cells.</summary>
    public static DataFrame FromCells(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows)
    {
        for (int i = 0; i < rows.Count; i++)
            if (rows[i].Count != columns.Count)
                throw new ArgumentException($"table row {i} has {rows[i].Count} cells, but there are {columns.Count} columns", nameof(rows));
        return new DataFrame(columns.Select((name, j) =>
        {
            var values = rows.Select(r => r[j]).ToList();
            var types = values.Where(v => v is not null).Select(v => v!.GetType()).Distinct().ToList();
            var type = types.Count switch
            {
                0 => typeof(double), // an empty column reads as numeric (right-aligned), as before
                1 => types[0],
                _ => types.All(IsNumericType) ? typeof(double) : typeof(object),
            };
            return Column(name, type, values);
        }));
    }

    private static bool IsNumericType(Type t) => t == typeof(sbyte) || t == typeof(byte) || t == typeof(short) || t == typeof(ushort) || t == typeof(int) || t == typeof(uint)
        || t == typeof(long) || t == typeof(ulong) || t == typeof(float) || t == typeof(double) || t == typeof(decimal);

    private static DataFrameColumn Column(string name, Type type, IReadOnlyList<object?> values)
    {
        PrimitiveDataFrameColumn<TV> P<TV>() where TV : unmanaged =>
            new(name, values.Select(v => v is null ? (TV?)null : (TV)Convert.ChangeType(v, typeof(TV), Inv)));
        return type switch
        {
            _ when type == typeof(double) => new DoubleDataFrameColumn(name, values.Select(v => v is null ? (double?)null : Convert.ToDouble(v, Inv))),
            _ when type == typeof(float) => new SingleDataFrameColumn(name, values.Select(v => v is null ? (float?)null : Convert.ToSingle(v, Inv))),
            _ when type == typeof(int) => new Int32DataFrameColumn(name, values.Select(v => v is null ? (int?)null : Convert.ToInt32(v, Inv))),
            _ when type == typeof(long) => new Int64DataFrameColumn(name, values.Select(v => v is null ? (long?)null : Convert.ToInt64(v, Inv))),
            _ when type == typeof(short) => P<short>(),
            _ when type == typeof(byte) => P<byte>(),
            _ when type == typeof(sbyte) => P<sbyte>(),
            _ when type == typeof(ushort) => P<ushort>(),
            _ when type == typeof(uint) => P<uint>(),
            _ when type == typeof(ulong) => P<ulong>(),
            _ when type == typeof(decimal) => new DecimalDataFrameColumn(name, values.Select(v => v is null ? (decimal?)null : Convert.ToDecimal(v, Inv))),
            _ when type == typeof(bool) => new BooleanDataFrameColumn(name, values.Select(v => v is null ? (bool?)null : (bool)v)),
            _ => new StringDataFrameColumn(name, values.Select(v => v switch
            {
                null => null,
                string s => s,
                IFormattable f => f.ToString(null, Inv),
                _ => v.ToString(),
            })),
        };
    }

    /// <summary>True when the column holds numbers (right-aligned in Markdown and text).</summary>
    public static bool IsNumeric(DataFrameColumn column) => IsNumericType(column.DataType);

    /// <summary>The cells of row <paramref name="row"/>, null for missing values.</summary>
    public static IReadOnlyList<object?> Row(DataFrame frame, long row) => frame.Columns.Select(c => c[row]).ToList();

    /// <summary>A cell as display text: numbers with <paramref name="numberFormat"/> (default up to 4 significant decimals, exponents outside 1e-3..1e6), missing values empty.</summary>
    public static string FormatCell(object? v, string? numberFormat = null) => v switch
    {
        null => "",
        double d => numberFormat is null ? FormatNumber(d) : d.ToString(numberFormat, Inv),
        float f => numberFormat is null ? FormatNumber(f) : f.ToString(numberFormat, Inv),
        decimal m => m.ToString(numberFormat, Inv),
        IFormattable fm => fm.ToString(null, Inv),
        _ => v.ToString() ?? "",
    };

    private static string FormatNumber(double d) =>
        double.IsNaN(d) ? "NaN" : Math.Abs(d) >= 1e6 || (d != 0 && Math.Abs(d) < 1e-3)
            ? d.ToString("0.###e+0", Inv)
            : d.ToString("0.####", Inv);

    private static string EscapeMd(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    /// <summary>GitHub-flavoured Markdown: an optional bold title, the header, numeric columns right-aligned.</summary>
    public static string ToMarkdown(DataFrame frame, string? title = null, string? numberFormat = null)
    {
        var sb = new StringBuilder();
        if (title is not null) sb.Append("**").Append(title).Append("**\n\n");
        sb.Append("| ").Append(string.Join(" | ", frame.Columns.Select(c => EscapeMd(c.Name)))).Append(" |\n");
        sb.Append('|').Append(string.Join("|", frame.Columns.Select(c => RightAligned(frame, c) ? "---:" : "---"))).Append("|\n");
        for (long i = 0; i < frame.Rows.Count; i++)
            sb.Append("| ").Append(string.Join(" | ", frame.Columns.Select(c => EscapeMd(FormatCell(c[i], numberFormat))))).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>Right-aligned: a numeric column of a frame with rows.</summary>
    public static bool RightAligned(DataFrame frame, DataFrameColumn column) => frame.Rows.Count > 0 && IsNumeric(column);

    /// <summary>
    /// RFC 4180 CSV: a header of the column names, then one line per row; numbers invariant and round-trip ("R") unless
    /// <paramref name="formats"/> names a .NET format for the column; missing values empty; fields quoted when they hold a
    /// comma, quote or line break.
    /// </summary>
    public static string ToCsv(DataFrame frame, IReadOnlyDictionary<string, string>? formats = null)
    {
        string Field(object? v, string? format)
        {
            var t = v switch
            {
                null => "",
                double d => d.ToString(format ?? "R", Inv),
                float f => f.ToString(format ?? "R", Inv),
                IFormattable fm => fm.ToString(format, Inv),
                _ => v.ToString() ?? "",
            };
            return t.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + t.Replace("\"", "\"\"") + "\"" : t;
        }
        var sb = new StringBuilder();
        sb.Append(string.Join(",", frame.Columns.Select(c => Field(c.Name, null)))).Append('\n');
        for (long i = 0; i < frame.Rows.Count; i++)
            sb.Append(string.Join(",", frame.Columns.Select(c => Field(c[i], formats is not null && formats.TryGetValue(c.Name, out var f) ? f : null)))).Append('\n');
        return sb.ToString();
    }
}
