using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BoostFormer.Notebooks;

/// <summary>
/// A Jupyter notebook file (nbformat 4) kept as JSON so that metadata written by other tools survives a round trip.
/// Writes nbformat 4.4 with the Polyglot Notebooks metadata (kernelspec <c>.net-csharp</c>, <c>polyglot_notebook</c>
/// kernel info, per-cell kernel names) so that VS Code opens the file as a C# notebook. (Not .NET Interactive's own
/// <c>Microsoft.DotNet.Interactive.Documents</c>: its 1.0.0-beta.26120.1 parser/writer throws on a round trip of a
/// notebook that carries <c>polyglot_notebook.kernelInfo</c> (InvalidCastException in ToJupyterJson).)
/// </summary>
public sealed class NotebookDocument
{
    private NotebookDocument(JsonObject root, string? path)
    {
        Root = root;
        Path = path;
    }

    /// <summary>The whole document.</summary>
    public JsonObject Root { get; }
    /// <summary>Where it was loaded from (null for new documents).</summary>
    public string? Path { get; }
    /// <summary>The cells.</summary>
    public JsonArray Cells => (JsonArray)Root["cells"]!;

    /// <summary>Reads an <c>.ipynb</c> file; errors name the file and what is wrong.</summary>
    public static NotebookDocument Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"notebook '{path}' does not exist", path);
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        if (node is not JsonObject root) throw new InvalidDataException($"{path}: a notebook must be a JSON object");
        if (root["nbformat"]?.GetValue<int>() is not 4) throw new InvalidDataException($"{path}: only nbformat 4 notebooks are supported (found {root["nbformat"]?.ToJsonString() ?? "none"})");
        if (root["cells"] is not JsonArray cells) throw new InvalidDataException($"{path}: missing 'cells' array");
        for (int i = 0; i < cells.Count; i++)
        {
            if (cells[i] is not JsonObject c || c["cell_type"]?.GetValue<string>() is not ("code" or "markdown" or "raw"))
                throw new InvalidDataException($"{path}: cell {i + 1} has no valid cell_type (code, markdown or raw)");
        }
        return new NotebookDocument(root, path);
    }

    /// <summary>A new, empty Polyglot C# notebook.</summary>
    public static NotebookDocument Create() =>
        new(new JsonObject { ["cells"] = new JsonArray(), ["metadata"] = new JsonObject(), ["nbformat"] = 4, ["nbformat_minor"] = 4 }, null);

    /// <summary>Appends a markdown cell.</summary>
    public JsonObject AddMarkdown(string source)
    {
        var c = new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = SourceLines(source) };
        Cells.Add(c);
        return c;
    }

    /// <summary>Appends a C# code cell.</summary>
    public JsonObject AddCode(string source, string kernel = "csharp")
    {
        var c = new JsonObject
        {
            ["cell_type"] = "code", ["execution_count"] = null, ["metadata"] = new JsonObject(), ["outputs"] = new JsonArray(), ["source"] = SourceLines(source),
        };
        SetCellKernel(c, kernel);
        Cells.Add(c);
        return c;
    }

    /// <summary>The source text of a cell (nbformat allows a string or a list of lines).</summary>
    public static string Source(JsonObject cell) => cell["source"] switch
    {
        JsonArray a => string.Concat(a.Select(l => l?.GetValue<string>() ?? "")),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    };

    /// <summary>Splits text into nbformat's list of lines (every line but the last keeps its newline).</summary>
    public static JsonArray SourceLines(string text)
    {
        var arr = new JsonArray();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
            if (text[i] == '\n') { arr.Add(text[start..(i + 1)]); start = i + 1; }
        if (start < text.Length) arr.Add(text[start..]);
        return arr;
    }

    /// <summary>The kernel a code cell is written for: Polyglot's per-cell kernel name, else the older dotnet_interactive language, else csharp.</summary>
    public static string CellKernel(JsonObject cell) =>
        cell["metadata"]?["polyglot_notebook"]?["kernelName"]?.GetValue<string>()
        ?? cell["metadata"]?["dotnet_interactive"]?["language"]?.GetValue<string>()
        ?? "csharp";

    /// <summary>Sets the Polyglot per-cell kernel metadata.</summary>
    public static void SetCellKernel(JsonObject cell, string kernel)
    {
        var meta = cell["metadata"] as JsonObject ?? new JsonObject();
        cell["metadata"] = meta;
        meta["dotnet_interactive"] = new JsonObject { ["language"] = kernel };
        meta["polyglot_notebook"] = new JsonObject { ["kernelName"] = kernel };
        if (cell["cell_type"]?.GetValue<string>() == "code") meta["vscode"] = new JsonObject { ["languageId"] = "polyglot-notebook" };
    }

    /// <summary>
    /// Normalises the document to nbformat 4.4 with Polyglot metadata: kernelspec <c>.net-csharp</c>, language info,
    /// <c>polyglot_notebook.kernelInfo</c>, a kernel name on every code cell, and no cell ids (ids are nbformat 4.5).
    /// </summary>
    public void EnsurePolyglotMetadata()
    {
        Root["nbformat"] = 4;
        Root["nbformat_minor"] = 4;
        var meta = Root["metadata"] as JsonObject ?? new JsonObject();
        Root["metadata"] = meta;
        meta["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" };
        // "polyglot-notebook" is what VS Code writes; the lexer names let Jupyter tools (nbconvert) highlight the C# cells.
        meta["language_info"] = new JsonObject
        {
            ["file_extension"] = ".cs", ["mimetype"] = "text/x-csharp", ["name"] = "polyglot-notebook", ["pygments_lexer"] = "csharp",
        };
        meta["polyglot_notebook"] = new JsonObject
        {
            ["kernelInfo"] = new JsonObject
            {
                ["defaultKernelName"] = "csharp",
                ["items"] = new JsonArray
                {
                    new JsonObject { ["aliases"] = new JsonArray(), ["name"] = "csharp" },
                    new JsonObject { ["aliases"] = new JsonArray(), ["languageName"] = "Markdown", ["name"] = "markdown" },
                },
            },
        };
        foreach (var node in Cells)
        {
            var c = (JsonObject)node!;
            c.Remove("id");
            if (c["metadata"] is not JsonObject) c["metadata"] = new JsonObject();
            if (c["cell_type"]!.GetValue<string>() == "code")
            {
                SetCellKernel(c, CellKernel(c));
                if (!c.ContainsKey("outputs")) c["outputs"] = new JsonArray();
                if (!c.ContainsKey("execution_count")) c["execution_count"] = null;
            }
            else
            {
                c.Remove("outputs");
                c.Remove("execution_count");
            }
            if (c["source"] is JsonValue) c["source"] = SourceLines(Source(c));
        }
    }

    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        IndentSize = 1,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The document as JSON text, keys sorted (like Jupyter) so that files diff cleanly.</summary>
    public string ToJson() => Sorted(Root)!.ToJsonString(WriteOptions) + "\n";

    private static JsonNode? Sorted(JsonNode? n) => n switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Sorted(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Sorted).ToArray()),
        null => null,
        _ => JsonNode.Parse(n.ToJsonString()),
    };

    /// <summary>Writes the notebook (temp file in the same folder, then rename).</summary>
    public void Save(string path)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.WriteAllText(tmp, ToJson(), new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}
