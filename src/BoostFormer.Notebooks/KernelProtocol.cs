using System.Text.Json;
using System.Text.Json.Nodes;

namespace BoostFormer.Notebooks;

/// <summary>
/// The line protocol between the runner and its kernel process. The runner writes one JSON object per line to the
/// kernel's standard input (<c>{"code": …, "kernel": "csharp"}</c>, one per cell). The kernel answers on its standard
/// output with lines that start with <see cref="Marker"/> followed by a JSON object whose <c>event</c> is <c>ready</c>,
/// <c>stream</c>, <c>display</c>, <c>update</c>, <c>result</c> or <c>done</c>. Anything else on its standard output or
/// error (native libraries writing to the file descriptors, output after a cell finished) is not protocol and goes to
/// the runner's log.
/// </summary>
public static class KernelProtocol
{
    /// <summary>Starts every protocol line (an ASCII unit separator and a tag that cell output does not produce by chance).</summary>
    public const string Marker = "\u001fboostformer-kernel\u001f";

    /// <summary>The command-line argument that makes <c>BoostFormer.Notebooks.dll</c> a kernel process.</summary>
    public const string KernelVerb = "kernel";

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    /// <summary>One protocol line (without the newline).</summary>
    public static string Line(JsonObject message) => Marker + message.ToJsonString(Compact);

    /// <summary>Splits a line read from the kernel into stray text before the marker and the protocol message, if any.</summary>
    public static (string Stray, JsonObject? Message) Parse(string line)
    {
        int at = line.IndexOf(Marker, StringComparison.Ordinal);
        if (at < 0) return (line, null);
        try { return (line[..at], JsonNode.Parse(line[(at + Marker.Length)..]) as JsonObject); }
        catch (JsonException) { return (line, null); }
    }
}
