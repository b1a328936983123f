using System.Text;
using System.Text.Json.Nodes;

namespace BoostFormer.Notebooks;

/// <summary>
/// The nbformat outputs of one executing cell, in order: stdout/stderr text (consecutive writes merge into one
/// <c>stream</c> output), <c>display_data</c> (replaced in place when the kernel updates a displayed value),
/// the <c>execute_result</c> and an <c>error</c>. Thread-safe.
/// </summary>
public sealed class CellOutputs
{
    private readonly List<(JsonObject Output, string? DisplayId)> _outputs = new();
    private StringBuilder? _stream;
    private string? _streamName;

    /// <summary>Appends text to the <paramref name="name"/> stream (<c>stdout</c> or <c>stderr</c>).</summary>
    public void Write(string name, string text)
    {
        if (string.IsNullOrEmpty(text)) return;
        lock (_outputs)
        {
            if (_streamName != name || _stream is null)
            {
                FlushStream();
                _stream = new StringBuilder();
                _streamName = name;
            }
            _stream.Append(text);
        }
    }

    private void FlushStream()
    {
        if (_stream is { Length: > 0 })
            _outputs.Add((new JsonObject { ["output_type"] = "stream", ["name"] = _streamName, ["text"] = NotebookDocument.SourceLines(_stream.ToString()) }, null));
        _stream = null;
        _streamName = null;
    }

    /// <summary>
    /// A MIME bundle as nbformat stores it: text types as lists of lines, binary types (<c>image/png</c>, base64) as one
    /// string, JSON types as JSON.
    /// </summary>
    public static JsonObject Bundle(IEnumerable<KeyValuePair<string, string>> data)
    {
        var bundle = new JsonObject();
        foreach (var (mime, value) in data)
        {
            if (bundle.ContainsKey(mime)) continue;
            bundle[mime] = mime.StartsWith("text/", StringComparison.Ordinal) || mime == "image/svg+xml"
                ? NotebookDocument.SourceLines(value)
                : mime == "application/json" || mime.EndsWith("+json", StringComparison.Ordinal)
                    ? JsonNode.Parse(value)
                    : value;
        }
        return bundle;
    }

    /// <summary>Adds a <c>display_data</c> output; <paramref name="displayId"/> lets a later update replace it.</summary>
    public void Display(JsonObject bundle, string? displayId = null)
    {
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add((new JsonObject { ["output_type"] = "display_data", ["data"] = bundle, ["metadata"] = new JsonObject() }, displayId));
        }
    }

    /// <summary>Replaces the data of the displayed value <paramref name="displayId"/> (as a notebook front end does); adds it when unknown.</summary>
    public void Update(string displayId, JsonObject bundle)
    {
        lock (_outputs)
        {
            int i = _outputs.FindIndex(o => o.DisplayId == displayId);
            if (i < 0) { Display(bundle, displayId); return; }
            _outputs[i].Output["data"] = bundle;
        }
    }

    /// <summary>Adds the cell's <c>execute_result</c>.</summary>
    public void Result(JsonObject bundle, int executionCount)
    {
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add((new JsonObject
            {
                ["output_type"] = "execute_result", ["data"] = bundle, ["metadata"] = new JsonObject(), ["execution_count"] = executionCount,
            }, null));
        }
    }

    /// <summary>Adds an <c>error</c> output.</summary>
    public void Error(string name, string message, IEnumerable<string> traceback)
    {
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add((new JsonObject
            {
                ["output_type"] = "error", ["ename"] = name, ["evalue"] = message,
                ["traceback"] = new JsonArray(traceback.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            }, null));
        }
    }

    /// <summary>The outputs so far as an nbformat array.</summary>
    public JsonArray ToJson()
    {
        lock (_outputs)
        {
            FlushStream();
            return new JsonArray(_outputs.Select(o => o.Output.DeepClone()).ToArray());
        }
    }
}
