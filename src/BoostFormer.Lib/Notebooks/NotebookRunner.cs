using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TorchSharp;
using BoostFormer.Visualization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace BoostFormer.Notebooks;

/// <summary>Options of a notebook run.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>Scale, data root and free parameters exposed through <see cref="Parameters"/>.</summary>
    public required ParameterSet Parameters { get; init; }
    /// <summary>Folder for executed copies (ignored with <see cref="InPlace"/>).</summary>
    public string OutputDirectory { get; init; } = Path.Combine("out", "notebooks");
    /// <summary>Write outputs back into the source notebooks.</summary>
    public bool InPlace { get; init; }
    /// <summary>Time limit of one cell (null = none).</summary>
    public TimeSpan? TimeoutPerCell { get; init; }
    /// <summary>Where progress lines go (null = nowhere).</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>Why a notebook stopped.</summary>
public sealed record CellFailure(string Notebook, int CellNumber, int? Line, string ExceptionType, string Message, bool TimedOut)
{
    /// <summary>One line naming notebook, cell, line and exception.</summary>
    public override string ToString() =>
        $"{Notebook}: cell {CellNumber}" + (Line is { } l ? $", line {l}" : "") + (TimedOut ? $": timed out ({Message})" : $": {ExceptionType}: {Message}");
}

/// <summary>What one notebook run did.</summary>
public sealed record NotebookRunResult(string Source, string Output, int CellsExecuted, TimeSpan Elapsed, CellFailure? Failure)
{
    /// <summary>True when every cell ran.</summary>
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Executes the C# cells of Polyglot/Jupyter notebooks headlessly with Roslyn scripting, keeping state between cells
/// (<see cref="ScriptState.ContinueWithAsync(string, ScriptOptions?, CancellationToken)"/>), and writes the executed
/// notebook (nbformat 4.4) with stream, display, result and error outputs.
/// <para>Supported in cells: <c>#r "path.dll"</c> (relative to the notebook; references to BoostFormer.Lib/Torch are
/// skipped since the runner provides them), <c>#load</c>, the magics <c>#!csharp</c>, <c>#!markdown</c> and
/// <c>#!time</c> on a cell's first lines, <c>display(x)</c>, and a trailing expression as the cell result. Console
/// output is captured per cell. Markdown and raw cells pass through untouched. While a notebook runs, the current
/// directory is the notebook's folder (as in Jupyter and Polyglot Notebooks).</para>
/// </summary>
public sealed class NotebookRunner
{
    /// <summary>Namespaces every cell imports (the BoostFormer.* namespaces of the library are added automatically).</summary>
    public static readonly IReadOnlyList<string> DefaultImports = new[]
    {
        "System", "System.Collections.Generic", "System.Diagnostics", "System.Globalization", "System.IO", "System.Linq", "System.Text",
        "System.Threading", "System.Threading.Tasks", "TorchSharp", "TorchSharp.torch",
    };

    /// <summary>Assemblies the runner references itself; a cell's <c>#r</c> to one of these file names is skipped.</summary>
    public static readonly IReadOnlySet<string> ProvidedAssemblies = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "BoostFormer.Lib.dll", "TorchSharp.dll",
    };

    private static readonly Regex ReferenceDirective = new(@"^\s*#r\s+""(?<path>[^""]+)""\s*$", RegexOptions.Compiled);

    private readonly NotebookRunOptions _options;

    /// <summary>Creates a runner.</summary>
    public NotebookRunner(NotebookRunOptions options) =>
        _options = options with { OutputDirectory = Path.GetFullPath(options.OutputDirectory) };

    /// <summary>Expands files and folders (their <c>*.ipynb</c>, sorted) into notebook paths; errors name what is missing.</summary>
    public static IReadOnlyList<string> FindNotebooks(IEnumerable<string> inputs)
    {
        var result = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
                result.AddRange(Directory.EnumerateFiles(input, "*.ipynb").Where(f => !Path.GetFileName(f).StartsWith('.')).OrderBy(f => f, StringComparer.Ordinal));
            else if (File.Exists(input))
            {
                if (!input.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"'{input}' is not a notebook (.ipynb)");
                result.Add(input);
            }
            else throw new FileNotFoundException($"notebook or folder '{input}' does not exist", input);
        }
        var full = result.Select(Path.GetFullPath).ToList();
        var dup = full.GroupBy(f => f).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"notebook '{dup.Key}' is listed twice");
        return full;
    }

    /// <summary>Where the executed copy of <paramref name="notebook"/> is written.</summary>
    public string OutputPathFor(string notebook) =>
        _options.InPlace ? notebook : Path.GetFullPath(Path.Combine(_options.OutputDirectory, Path.GetFileName(notebook)));

    /// <summary>Runs notebooks in order and stops at the first failure.</summary>
    public async Task<IReadOnlyList<NotebookRunResult>> RunAllAsync(IEnumerable<string> notebooks)
    {
        var list = notebooks.ToList();
        if (!_options.InPlace)
        {
            var clash = list.GroupBy(n => Path.GetFileName(n), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (clash is not null) throw new ArgumentException($"two notebooks are named {clash.Key}; their executed copies would overwrite each other in {_options.OutputDirectory}");
        }
        var results = new List<NotebookRunResult>();
        foreach (var nb in list)
        {
            var r = await RunAsync(nb);
            results.Add(r);
            if (!r.Succeeded) break;
        }
        return results;
    }

    /// <summary>Executes one notebook and writes the executed copy (also when a cell fails: it then carries the error).</summary>
    public async Task<NotebookRunResult> RunAsync(string notebookPath)
    {
        notebookPath = Path.GetFullPath(notebookPath);
        var name = Path.GetFileName(notebookPath);
        var doc = NotebookDocument.Load(notebookPath);
        doc.EnsurePolyglotMetadata();
        var dir = Path.GetDirectoryName(notebookPath)!;
        var log = _options.Log;
        var total = Stopwatch.StartNew();
        var cells = doc.Cells.Select(c => (JsonObject)c!).ToList();
        foreach (var c in cells.Where(c => c["cell_type"]!.GetValue<string>() == "code"))
        {
            c["outputs"] = new JsonArray();
            c["execution_count"] = null;
        }

        log?.WriteLine($"{name}: {cells.Count} cells, scale {_options.Parameters.Scale.Name()}, data {_options.Parameters.DataRoot ?? "(synthetic)"}");
        int executionCount = 0;
        CellFailure? failure = null;
        using var parameters = Parameters.Use(_options.Parameters);
        // Like Jupyter and Polyglot Notebooks: relative paths in cells resolve against the notebook's folder.
        var previousDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir;
        try
        {
            var globals = new NotebookGlobals();
            var baseOptions = CreateScriptOptions(dir);
            ScriptState<object>? state = null;

            for (int i = 0; i < cells.Count && failure is null; i++)
            {
                var cell = cells[i];
                int number = i + 1;
                if (cell["cell_type"]!.GetValue<string>() != "code") continue;
                var source = NotebookDocument.Source(cell);
                var outputs = new CellOutputs();
                var sw = Stopwatch.StartNew();
                string status = "FAILED";
                try
                {
                    var parsed = ParseCell(source, NotebookDocument.CellKernel(cell));
                    if (parsed.Kernel == "markdown")
                    {
                        cell["execution_count"] = ++executionCount;
                        outputs.DisplayRaw(MimeTypes.Markdown, parsed.Code);
                        status = "markdown";
                    }
                    else if (string.IsNullOrWhiteSpace(parsed.Code))
                    {
                        status = "empty";
                    }
                    else
                    {
                        cell["execution_count"] = ++executionCount;
                        var options = baseOptions.WithFilePath(Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(name)}.cell{number}.csx"));
                        var (newState, error) = await ExecuteAsync(state, parsed.Code, options, globals, outputs);
                        if (error is not null)
                        {
                            failure = error with { Notebook = name, CellNumber = number };
                            status = "FAILED";
                        }
                        if (parsed.Time)
                            outputs.Write("stdout", $"Wall time: {sw.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture)} ms\n");
                        if (error is null)
                        {
                            state = newState;
                            if (state!.ReturnValue is { } rv && !IsVoidLike(rv)) outputs.Result(rv, executionCount);
                            status = "ok";
                        }
                    }
                }
                catch (CellSyntaxException e)
                {
                    failure = new CellFailure(name, number, e.Line, nameof(CellSyntaxException), e.Message, false);
                    outputs.Error(nameof(CellSyntaxException), e.Message, new[] { $"line {e.Line}: {e.Message}" });
                    status = "FAILED";
                }
                cell["outputs"] = outputs.ToJson();
                log?.WriteLine($"  [{name}] cell {number}/{cells.Count} {status} {sw.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)} s");
            }

        }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
        }

        total.Stop();
        var meta = (JsonObject)doc.Root["metadata"]!;
        meta["boostformer"] = new JsonObject
        {
            ["scale"] = _options.Parameters.Scale.Name(),
            ["run_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1),
            ["succeeded"] = failure is null,
        };
        var output = OutputPathFor(notebookPath);
        doc.Save(output);
        if (failure is not null) log?.WriteLine($"error: {failure}");
        log?.WriteLine($"{name}: {(failure is null ? "ok" : "FAILED")} in {total.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s -> {output}");
        return new NotebookRunResult(notebookPath, output, executionCount, total.Elapsed, failure);
    }

    private static bool IsVoidLike(object value) => value.GetType().FullName == "System.Threading.Tasks.VoidTaskResult";

    private ScriptOptions CreateScriptOptions(string notebookDir)
    {
        var libNamespaces = typeof(NotebookRunner).Assembly.GetExportedTypes()
            .Select(t => t.Namespace).Where(n => n is not null && n.StartsWith("BoostFormer", StringComparison.Ordinal)).Distinct()
            .Cast<string>();
        var refs = new[]
        {
            typeof(object).Assembly, typeof(Enumerable).Assembly, typeof(Console).Assembly, typeof(List<>).Assembly,
            typeof(System.Text.Json.JsonSerializer).Assembly, typeof(System.Text.RegularExpressions.Regex).Assembly,
            typeof(Microsoft.AspNetCore.Html.IHtmlContent).Assembly, typeof(torch).Assembly, typeof(NotebookRunner).Assembly,
        }.Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.GetName().Name is { } n && n.StartsWith("BoostFormer", StringComparison.Ordinal) && a.Location.Length > 0))
         .Distinct();
        return ScriptOptions.Default
            .AddReferences(refs)
            .WithImports(DefaultImports.Concat(libNamespaces).Distinct())
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(notebookDir))
            .WithSourceResolver(ScriptSourceResolver.Default.WithBaseDirectory(notebookDir))
            .WithEmitDebugInformation(true)
            .WithOptimizationLevel(OptimizationLevel.Debug)
            .WithAllowUnsafe(true)
            .WithFileEncoding(System.Text.Encoding.UTF8);
    }

    private sealed record ParsedCell(string Kernel, string Code, bool Time);

    private sealed class CellSyntaxException(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }

    /// <summary>
    /// Reads the magics on a cell's first lines and blanks them (and <c>#r</c> lines for assemblies the runner provides)
    /// so that line numbers in errors still match the cell.
    /// </summary>
    private static ParsedCell ParseCell(string source, string kernel)
    {
        var lines = source.Replace("\r\n", "\n").Split('\n');
        bool time = false, header = true;
        kernel = kernel switch { "c#" or "C#" or "csharp" => "csharp", "markdown" or "md" => "markdown", _ => kernel };
        int markdownStart = -1;
        for (int i = 0; i < lines.Length; i++)
        {
            var t = lines[i].Trim();
            if (header && t.Length == 0) continue;
            if (t.StartsWith("#!", StringComparison.Ordinal))
            {
                if (!header) throw new CellSyntaxException(i + 1, $"magic command '{t}' must be on the cell's first lines (switching kernels inside a cell is not supported)");
                var magic = t.Split(' ', 2)[0];
                switch (magic)
                {
                    case "#!csharp" or "#!c#" or "#!C#": kernel = "csharp"; break;
                    case "#!markdown" or "#!md": kernel = "markdown"; markdownStart = i + 1; header = false; break;
                    case "#!time": time = true; break;
                    default: throw new CellSyntaxException(i + 1, $"unsupported magic command '{magic}' (the headless runner supports #!csharp, #!markdown and #!time)");
                }
                lines[i] = "";
                continue;
            }
            header = false;
            if (kernel == "csharp")
            {
                var m = ReferenceDirective.Match(lines[i]);
                if (m.Success)
                {
                    var path = m.Groups["path"].Value;
                    if (path.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
                        throw new CellSyntaxException(i + 1, $"'#r \"{path}\"': NuGet references are not supported by the headless runner; reference a built .dll instead");
                    if (ProvidedAssemblies.Contains(Path.GetFileName(path))) lines[i] = "// " + lines[i].Trim() + " (provided by the runner)";
                }
            }
        }
        if (kernel == "markdown") return new ParsedCell("markdown", string.Join("\n", lines.Skip(Math.Max(0, markdownStart))).Trim('\n'), false);
        if (kernel != "csharp") throw new CellSyntaxException(1, $"cell kernel '{kernel}' is not supported by the headless runner (only C# and Markdown)");
        return new ParsedCell("csharp", string.Join("\n", lines), time);
    }

    private async Task<(ScriptState<object>? State, CellFailure? Failure)> ExecuteAsync(ScriptState<object>? state, string code, ScriptOptions options,
        NotebookGlobals globals, CellOutputs outputs)
    {
        using var cts = new CancellationTokenSource();
        globals.Outputs = outputs;
        globals.CancellationToken = cts.Token;
        var originalOut = Console.Out;
        var originalErr = Console.Error;
        Console.SetOut(new CellStreamWriter(() => globals.Outputs, "stdout"));
        Console.SetError(new CellStreamWriter(() => globals.Outputs, "stderr"));
        try
        {
            // Compile first (outside the time limit: the first cell pays for Roslyn's warm-up), then run on a dedicated
            // thread, so that a cell that never returns cannot block the runner past its time limit.
            var script = state is null
                ? CSharpScript.Create<object>(code, options, typeof(NotebookGlobals))
                : state.Script.ContinueWith<object>(code, options);
            var diagnostics = script.Compile();
            var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count > 0)
            {
                var first = errors[0];
                int? line = first.Location.IsInSource ? first.Location.GetLineSpan().StartLinePosition.Line + 1 : null;
                var messages = errors.Select(d =>
                {
                    var p = d.Location.GetLineSpan().StartLinePosition;
                    return $"({p.Line + 1},{p.Character + 1}): error {d.Id}: {d.GetMessage(CultureInfo.InvariantCulture)}";
                }).ToList();
                outputs.Error("CompilationError", messages[0], messages);
                return (null, new CellFailure("", 0, line, "CompilationError", $"{first.Id}: {first.GetMessage(CultureInfo.InvariantCulture)}", false));
            }
            var run = Task.Factory.StartNew(
                () => state is null ? script.RunAsync(globals, _ => true, cts.Token) : script.RunFromAsync(state, _ => true, cts.Token),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
            if (_options.TimeoutPerCell is { } limit)
            {
                var finished = await Task.WhenAny(run, Task.Delay(limit));
                if (finished != run)
                {
                    cts.Cancel();
                    var msg = $"the cell did not finish within {limit.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (--timeout-per-cell)";
                    outputs.Error("TimeoutException", msg, new[] { "TimeoutException: " + msg });
                    return (null, new CellFailure("", 0, null, nameof(TimeoutException), msg, true));
                }
            }
            var next = await run;
            if (next.Exception is { } ex)
            {
                var root = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex;
                root = root is TargetInvocationException { InnerException: { } inner } ? inner : root;
                int? line = LineInCell(root, options.FilePath);
                var traceback = new List<string> { $"{root.GetType().FullName}: {root.Message}" };
                traceback.AddRange((root.StackTrace ?? "").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0));
                outputs.Error(root.GetType().FullName ?? root.GetType().Name, root.Message, traceback);
                return (null, new CellFailure("", 0, line, root.GetType().FullName ?? root.GetType().Name, root.Message, false));
            }
            return (next, null);
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalErr);
            globals.Outputs = null;
        }
    }

    /// <summary>The innermost stack frame line that belongs to the cell's script file.</summary>
    private static int? LineInCell(Exception e, string cellPath)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            var frames = new StackTrace(x, fNeedFileInfo: true).GetFrames();
            foreach (var f in frames)
                if (string.Equals(f.GetFileName(), cellPath, StringComparison.Ordinal) && f.GetFileLineNumber() > 0)
                    return f.GetFileLineNumber();
        }
        return null;
    }
}
