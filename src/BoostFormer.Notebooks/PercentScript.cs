using System.Text;
using System.Text.Json.Nodes;

namespace BoostFormer.Notebooks;

/// <summary>
/// Converts between notebooks and the "percent" script format (as jupytext writes it for C#), which is easier to write and
/// review than notebook JSON:
/// <code>
/// // %% [markdown]
/// // # Title
/// // Some *markdown*.
///
/// // %%
/// var x = torch.ones(2, 2);
/// x
/// </code>
/// <c>// %%</c> starts a C# cell, <c>// %% [markdown]</c> a markdown cell whose lines are comments (the <c>// </c> is
/// removed). Blank lines around cells are dropped.
/// </summary>
public static class PercentScript
{
    /// <summary>Builds a Polyglot notebook from percent-format text; <paramref name="source"/> names the input in errors.</summary>
    public static NotebookDocument ToNotebook(string text, string source = "script")
    {
        var doc = NotebookDocument.Create();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        string? kind = null;
        var body = new List<string>();
        int start = 0;

        void Flush()
        {
            int a = 0, b = body.Count;
            while (a < b && body[a].Trim().Length == 0) a++;
            while (b > a && body[b - 1].Trim().Length == 0) b--;
            var content = string.Join("\n", body.Skip(a).Take(b - a));
            if (kind == "markdown") doc.AddMarkdown(content);
            else if (content.Length > 0 || kind == "code") doc.AddCode(content);
            body.Clear();
        }

        for (int i = 0; i < lines.Length; i++)
        {
            var t = lines[i].TrimStart();
            if (t.StartsWith("// %%", StringComparison.Ordinal) || t.StartsWith("//%%", StringComparison.Ordinal))
            {
                if (kind is not null || body.Any(l => l.Trim().Length > 0)) Flush();
                body.Clear();
                var rest = t[(t.IndexOf("%%", StringComparison.Ordinal) + 2)..].Trim();
                kind = rest.Contains("[markdown]", StringComparison.OrdinalIgnoreCase) || rest.Contains("[md]", StringComparison.OrdinalIgnoreCase) ? "markdown" : "code";
                start = i + 1;
                continue;
            }
            if (kind == "markdown")
            {
                if (t.Length == 0) { body.Add(""); continue; }
                if (!t.StartsWith("//", StringComparison.Ordinal))
                    throw new InvalidDataException($"{source}: line {i + 1}: a markdown cell (started on line {start}) must consist of '//' comment lines; start a code cell with '// %%' first");
                var s = t[2..];
                body.Add(s.StartsWith(' ') ? s[1..] : s);
            }
            else body.Add(lines[i]);
        }
        if (kind is not null || body.Any(l => l.Trim().Length > 0)) Flush();
        doc.EnsurePolyglotMetadata();
        return doc;
    }

    /// <summary>The percent-format text of a notebook (outputs are not kept).</summary>
    public static string FromNotebook(NotebookDocument doc)
    {
        var sb = new StringBuilder();
        foreach (var node in doc.Cells)
        {
            var cell = (JsonObject)node!;
            var type = cell["cell_type"]!.GetValue<string>();
            var src = NotebookDocument.Source(cell).TrimEnd('\n');
            if (sb.Length > 0) sb.Append('\n');
            if (type == "markdown")
            {
                sb.Append("// %% [markdown]\n");
                foreach (var l in src.Split('\n')) sb.Append(l.Length == 0 ? "//" : "// " + l).Append('\n');
            }
            else if (type == "code")
            {
                sb.Append("// %%\n");
                if (src.Length > 0) sb.Append(src).Append('\n');
            }
            else
            {
                sb.Append("// %% [raw]\n");
                foreach (var l in src.Split('\n')) sb.Append("// ").Append(l).Append('\n');
            }
        }
        return sb.ToString();
    }
}
