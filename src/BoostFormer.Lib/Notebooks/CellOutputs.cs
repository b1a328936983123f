using System.Text;
using System.Text.Json.Nodes;
using BoostFormer.Visualization;

namespace BoostFormer.Notebooks;

/// <summary>
/// The outputs of one executing cell, in order: stdout/stderr text (consecutive writes merge into one <c>stream</c>
/// output), <c>display_data</c>, the <c>execute_result</c> and an <c>error</c>. Thread-safe.
/// </summary>
public sealed class CellOutputs
{
    private readonly List<JsonObject> _outputs = new();
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
            _outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = _streamName, ["text"] = NotebookDocument.SourceLines(_stream.ToString()) });
        _stream = null;
        _streamName = null;
    }

    private static JsonObject Bundle(object? value)
    {
        var data = new JsonObject();
        foreach (var (mime, text) in OutputFormatter.Format(value))
            data[mime] = mime == MimeTypes.Png ? text : NotebookDocument.SourceLines(text);
        return data;
    }

    /// <summary>Adds a <c>display_data</c> output for <paramref name="value"/>.</summary>
    public void Display(object? value)
    {
        var data = Bundle(value);
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add(new JsonObject { ["output_type"] = "display_data", ["data"] = data, ["metadata"] = new JsonObject() });
        }
    }

    /// <summary>Adds a <c>display_data</c> output with a ready-made MIME bundle.</summary>
    public void DisplayRaw(string mime, string text)
    {
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add(new JsonObject
            {
                ["output_type"] = "display_data",
                ["data"] = new JsonObject { [mime] = NotebookDocument.SourceLines(text) },
                ["metadata"] = new JsonObject(),
            });
        }
    }

    /// <summary>Adds the cell's <c>execute_result</c>.</summary>
    public void Result(object? value, int executionCount)
    {
        var data = Bundle(value);
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add(new JsonObject
            {
                ["output_type"] = "execute_result", ["data"] = data, ["metadata"] = new JsonObject(), ["execution_count"] = executionCount,
            });
        }
    }

    /// <summary>Adds an <c>error</c> output.</summary>
    public void Error(string name, string message, IEnumerable<string> traceback)
    {
        lock (_outputs)
        {
            FlushStream();
            _outputs.Add(new JsonObject
            {
                ["output_type"] = "error", ["ename"] = name, ["evalue"] = message,
                ["traceback"] = new JsonArray(traceback.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            });
        }
    }

    /// <summary>The outputs so far as an nbformat array.</summary>
    public JsonArray ToJson()
    {
        lock (_outputs)
        {
            FlushStream();
            return new JsonArray(_outputs.Select(o => o.DeepClone()).ToArray());
        }
    }
}

/// <summary>A <see cref="TextWriter"/> that appends to a cell's stream output (used as <c>Console.Out</c> / <c>Console.Error</c> while a cell runs).</summary>
internal sealed class CellStreamWriter(Func<CellOutputs?> target, string name) : TextWriter
{
    public override Encoding Encoding => Encoding.UTF8;
    public override void Write(char value) => target()?.Write(name, value.ToString());
    public override void Write(string? value) => target()?.Write(name, value ?? "");
    public override void Write(char[] buffer, int index, int count) => target()?.Write(name, new string(buffer, index, count));
    public override void Write(ReadOnlySpan<char> buffer) => target()?.Write(name, new string(buffer));
    public override void WriteLine(string? value) => target()?.Write(name, (value ?? "") + "\n");
}
