using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace BoostFormer.Notebooks;

/// <summary>
/// The kernel process: the .NET Interactive C# kernel that Polyglot Notebooks and Jupyter's <c>.net-csharp</c> kernel
/// run — <c>CompositeKernel { CSharpKernel }</c> with the kernel helpers (<c>display</c>), value sharing and
/// <c>#r "nuget: …"</c> — and nothing of ours: no imports beyond the kernel's own, no globals, no reference to
/// BoostFormer.Lib. It executes the cells it reads from standard input one at a time and reports the kernel's events
/// (<see cref="KernelProtocol"/>).
/// </summary>
public static class KernelHost
{
    /// <summary>Serves cells until standard input closes; returns the process exit code.</summary>
    public static async Task<int> RunAsync(Stream input, Stream output)
    {
        var writer = new StreamWriter(output, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        var gate = new object();
        void Send(JsonObject message)
        {
            var line = KernelProtocol.Line(message);
            lock (gate) writer.WriteLine(line);
        }

        using var kernel = CreateKernel();
        KernelCommand? current = null;
        using var subscription = kernel.KernelEvents.Subscribe(e =>
        {
            if (current is null || !BelongsTo(e.Command, current)) return;
            switch (e)
            {
                case StandardOutputValueProduced o:
                    Send(new JsonObject { ["event"] = "stream", ["name"] = "stdout", ["text"] = PlainText(o.FormattedValues) });
                    break;
                case StandardErrorValueProduced o:
                    Send(new JsonObject { ["event"] = "stream", ["name"] = "stderr", ["text"] = PlainText(o.FormattedValues) });
                    break;
                case ReturnValueProduced r:
                    Send(new JsonObject { ["event"] = "result", ["data"] = Bundle(r.FormattedValues, r.Value) });
                    break;
                case DisplayedValueUpdated u:
                    Send(new JsonObject { ["event"] = "update", ["id"] = u.ValueId, ["data"] = Bundle(u.FormattedValues, u.Value) });
                    break;
                case DisplayedValueProduced d:
                    Send(new JsonObject { ["event"] = "display", ["id"] = d.ValueId, ["data"] = Bundle(d.FormattedValues, d.Value) });
                    break;
            }
        });
        // Warm the compiler up before the first cell, so that a cell's time limit is not spent loading Roslyn. The
        // submission declares nothing and its value is not reported.
        await kernel.SendAsync(new SubmitCode("0"));
        Send(new JsonObject { ["event"] = "ready", ["pid"] = Environment.ProcessId });

        using var reader = new StreamReader(input, Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Trim().Length == 0) continue;
            var request = (JsonObject)JsonNode.Parse(line)!;
            var code = request["code"]!.GetValue<string>();
            var target = request["kernel"]?.GetValue<string>();
            var command = new SubmitCode(code, target);
            current = command;
            var result = await kernel.SendAsync(command);
            current = null;
            Send(Done(result.Events, code));
        }
        return 0;
    }

    /// <summary>The kernel: the same composition as the C# part of the dotnet-interactive tool.</summary>
    public static CompositeKernel CreateKernel()
    {
        var csharp = new CSharpKernel()
            .UseNugetDirective((k, packages) =>
            {
                k.AddAssemblyReferences(packages.SelectMany(p => p.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers()
            .UseValueSharing();
        EmitLineNumbers(csharp);
        return new CompositeKernel { csharp }.With(k => k.DefaultKernelName = csharp.Name);
    }

    /// <summary>
    /// Makes the kernel compile cells with debug information, so that an exception's stack trace has the cell's line
    /// numbers (the runner names the line of a failing cell). It changes no semantics — the optimisation level stays the
    /// kernel's — but it sets a private field; if a later kernel version renames it, failures only lose their line.
    /// </summary>
    private static void EmitLineNumbers(CSharpKernel kernel)
    {
        var field = typeof(CSharpKernel).GetField("_scriptOptions", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        if (field?.GetValue(kernel) is Microsoft.CodeAnalysis.Scripting.ScriptOptions options)
            field.SetValue(kernel, options.WithEmitDebugInformation(true));
    }

    private static T With<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }

    private static bool BelongsTo(KernelCommand? command, KernelCommand root)
    {
        for (var c = command; c is not null; c = c.Parent)
            if (ReferenceEquals(c, root)) return true;
        return command is not null && command.GetOrCreateToken() == root.GetOrCreateToken();
    }

    private static string PlainText(IEnumerable<FormattedValue> values) =>
        values.FirstOrDefault(v => v.MimeType == PlainTextFormatter.MimeType)?.Value ?? values.FirstOrDefault()?.Value ?? "";

    /// <summary>
    /// The kernel's formatted values as a MIME bundle. The kernel formats most values as <c>text/html</c> only; a
    /// <c>text/plain</c> form, from the kernel's own plain-text formatter, is added when missing, so that every result and
    /// display also reads as text (terminals, diffs, nbconvert to Markdown).
    /// </summary>
    private static JsonObject Bundle(IEnumerable<FormattedValue> values, object? value)
    {
        var data = new JsonObject();
        foreach (var v in values)
            if (!data.ContainsKey(v.MimeType)) data[v.MimeType] = v.Value;
        if (!data.ContainsKey(PlainTextFormatter.MimeType) && data.Count > 0)
        {
            try { data[PlainTextFormatter.MimeType] = value.ToDisplayString(PlainTextFormatter.MimeType); }
            catch (Exception) { /* a value whose plain-text formatting throws keeps the kernel's formats only */ }
        }
        return data;
    }

    /// <summary>The <c>done</c> message: success, or the error with its type, message, line in the cell and traceback.</summary>
    private static JsonObject Done(IEnumerable<KernelEvent> events, string code)
    {
        var list = events.ToList();
        var failed = list.OfType<CommandFailed>().FirstOrDefault();
        if (failed is null) return new JsonObject { ["event"] = "done", ["ok"] = true };

        var errors = list.OfType<DiagnosticsProduced>().SelectMany(d => d.Diagnostics)
            .Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            var first = errors[0];
            var lines = errors.Select(d => $"({d.LinePositionSpan.Start.Line + 1},{d.LinePositionSpan.Start.Character + 1}): error {d.Code}: {d.Message}");
            return new JsonObject
            {
                ["event"] = "done", ["ok"] = false, ["ename"] = "CompilationError", ["evalue"] = $"{first.Code}: {first.Message}",
                ["line"] = first.LinePositionSpan.Start.Line + 1,
                ["traceback"] = new JsonArray(lines.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            };
        }
        if (failed.Exception is { } ex)
        {
            var root = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex;
            var traceback = new List<string> { $"{root.GetType().FullName}: {root.Message}" };
            traceback.AddRange((root.StackTrace ?? "").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0));
            return new JsonObject
            {
                ["event"] = "done", ["ok"] = false, ["ename"] = root.GetType().FullName ?? root.GetType().Name, ["evalue"] = root.Message,
                ["line"] = LineInSubmission(root),
                ["traceback"] = new JsonArray(traceback.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            };
        }
        return new JsonObject
        {
            ["event"] = "done", ["ok"] = false, ["ename"] = "KernelError", ["evalue"] = failed.Message, ["line"] = null,
            ["traceback"] = new JsonArray(JsonValue.Create(failed.Message)),
        };
    }

    /// <summary>The line of the innermost stack frame in the submission's code, when the kernel compiled it with line information.</summary>
    private static int? LineInSubmission(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            foreach (var f in new StackTrace(x, fNeedFileInfo: true).GetFrames())
                if (f.GetMethod()?.DeclaringType is { } t && (t.FullName ?? "").StartsWith("Submission#", StringComparison.Ordinal) && f.GetFileLineNumber() > 0)
                    return f.GetFileLineNumber();
        return null;
    }
}
