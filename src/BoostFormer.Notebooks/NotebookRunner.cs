using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace BoostFormer.Notebooks;

/// <summary>Options of a notebook run.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>The run's scale (<c>ci</c>, <c>demo</c>, <c>full</c>): shown in the log and the notebook's metadata.</summary>
    public string Scale { get; init; } = "demo";
    /// <summary>The data root, shown in the log (null: none).</summary>
    public string? DataRoot { get; init; }
    /// <summary>
    /// Environment variables of the kernel process (a null value removes an inherited one): how parameters reach cells
    /// (<c>BoostFormer.Notebooks.Parameters</c> in the library reads them; the CLI fills them from <c>ParameterSet.ToEnvironment()</c>).
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
    /// <summary>Folder for executed copies (ignored with <see cref="InPlace"/>).</summary>
    public string OutputDirectory { get; init; } = Path.Combine("out", "notebooks");
    /// <summary>Write outputs back into the source notebooks.</summary>
    public bool InPlace { get; init; }
    /// <summary>Time limit of one cell (null = none).</summary>
    public TimeSpan? TimeoutPerCell { get; init; }
    /// <summary>How long the kernel process may take to start.</summary>
    public TimeSpan KernelStartTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Where progress lines go (null = nowhere).</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>Why a notebook stopped.</summary>
public sealed record CellFailure(string Notebook, int CellNumber, int? Line, string ExceptionType, string Message, bool TimedOut, bool KernelExited = false)
{
    /// <summary>One line naming notebook, cell, line and exception.</summary>
    public override string ToString() =>
        $"{Notebook}: cell {CellNumber}" + (Line is { } l ? $", line {l}" : "") +
        (TimedOut ? $": timed out ({Message})" : KernelExited ? $": {Message}" : $": {ExceptionType}: {Message}");
}

/// <summary>What one notebook run did.</summary>
public sealed record NotebookRunResult(string Source, string Output, int CellsExecuted, TimeSpan Elapsed, CellFailure? Failure)
{
    /// <summary>True when every cell ran.</summary>
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Executes notebooks headlessly in the real .NET Interactive C# kernel — the kernel of Polyglot Notebooks and of
/// Jupyter's <c>.net-csharp</c> — and writes the executed notebook (nbformat 4.4, Polyglot metadata) with its stream,
/// display, result and error outputs. Each notebook gets a fresh kernel process (<see cref="KernelProcess"/>) whose
/// current directory is the notebook's folder and whose environment carries the parameters. Cells see exactly what that
/// kernel gives them: its default imports (System, System.Linq, System.Collections.Generic, System.Text,
/// System.Threading.Tasks), <c>display(…)</c>, <c>#r</c>, <c>#r "nuget: …"</c> and the kernel's magic commands —
/// so a notebook that passes here needs its own <c>using</c> lines and <c>#r</c>, as it does in an editor.
/// Markdown and raw cells pass through untouched.
/// </summary>
public sealed class NotebookRunner
{
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
        _options.InPlace ? Path.GetFullPath(notebook) : Path.GetFullPath(Path.Combine(_options.OutputDirectory, Path.GetFileName(notebook)));

    /// <summary>
    /// Checks, before anything runs, that the executed copy of every notebook can be written (its folder can be
    /// created, the file created or opened for writing); throws <see cref="IOException"/> naming the file otherwise.
    /// </summary>
    public void CheckOutputsWritable(IEnumerable<string> notebooks)
    {
        foreach (var nb in notebooks)
        {
            var path = OutputPathFor(nb);
            try
            {
                if (Directory.Exists(path)) throw new IOException("it is a folder");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                if (File.Exists(path))
                {
                    using (new FileStream(path, FileMode.Open, FileAccess.Write)) { }
                }
                else
                {
                    var probe = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{System.Environment.ProcessId}.probe");
                    using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot write the executed copy of {Path.GetFileName(nb)} to '{path}': {e.Message}", e);
            }
        }
    }

    /// <summary>Runs notebooks in order and stops at the first failure (after checking that every output can be written).</summary>
    public async Task<IReadOnlyList<NotebookRunResult>> RunAllAsync(IEnumerable<string> notebooks)
    {
        var list = notebooks.ToList();
        if (!_options.InPlace)
        {
            var clash = list.GroupBy(n => Path.GetFileName(n), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (clash is not null) throw new ArgumentException($"two notebooks are named {clash.Key}; their executed copies would overwrite each other in {_options.OutputDirectory}");
        }
        CheckOutputsWritable(list);
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
        var output = OutputPathFor(notebookPath);
        CheckOutputsWritable(new[] { notebookPath });
        var doc = NotebookDocument.Load(notebookPath);
        doc.EnsurePolyglotMetadata();
        var log = _options.Log;
        var total = Stopwatch.StartNew();
        var cells = doc.Cells.Select(c => (JsonObject)c!).ToList();
        foreach (var c in cells.Where(c => c["cell_type"]!.GetValue<string>() == "code"))
        {
            c["outputs"] = new JsonArray();
            c["execution_count"] = null;
        }

        log?.WriteLine($"{name}: {cells.Count} cells, scale {_options.Scale}, data {_options.DataRoot ?? "(synthetic)"}");
        int executionCount = 0;
        CellFailure? failure = null;
        KernelProcess? kernel = null;
        try
        {
            for (int i = 0; i < cells.Count && failure is null; i++)
            {
                var cell = cells[i];
                int number = i + 1;
                if (cell["cell_type"]!.GetValue<string>() != "code") continue;
                var source = NotebookDocument.Source(cell);
                var sw = Stopwatch.StartNew();
                string status;
                if (string.IsNullOrWhiteSpace(source)) status = "empty";
                else
                {
                    // Started with the first code cell, so that a notebook without code needs no kernel.
                    if (kernel is null)
                    {
                        try { kernel = await KernelProcess.StartAsync(Path.GetDirectoryName(notebookPath)!, _options.Environment, log, _options.KernelStartTimeout); }
                        catch (InvalidOperationException e)
                        {
                            failure = new CellFailure(name, number, null, "KernelStartFailed", e.Message, false);
                            log?.WriteLine($"  [{name}] cell {number}/{cells.Count} FAILED (no kernel)");
                            break;
                        }
                    }
                    sw.Restart();
                    var outputs = new CellOutputs();
                    cell["execution_count"] = ++executionCount;
                    var reply = await kernel.ExecuteAsync(source, KernelName(cell), outputs, executionCount, _options.TimeoutPerCell);
                    cell["outputs"] = outputs.ToJson();
                    status = reply.Ok ? "ok" : "FAILED";
                    if (!reply.Ok)
                        failure = new CellFailure(name, number, reply.Line, reply.ErrorName!, reply.ErrorValue!, reply.TimedOut, reply.KernelExited);
                }
                log?.WriteLine($"  [{name}] cell {number}/{cells.Count} {status} {sw.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)} s");
            }
        }
        finally
        {
            if (kernel is not null) await kernel.DisposeAsync();
        }

        total.Stop();
        var meta = (JsonObject)doc.Root["metadata"]!;
        meta["boostformer"] = new JsonObject
        {
            ["scale"] = _options.Scale,
            ["run_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1),
            ["succeeded"] = failure is null,
        };
        doc.Save(output);
        if (failure is not null) log?.WriteLine($"error: {failure}");
        log?.WriteLine($"{name}: {(failure is null ? "ok" : "FAILED")} in {total.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s -> {output}");
        return new NotebookRunResult(notebookPath, output, executionCount, total.Elapsed, failure);
    }

    /// <summary>The kernel a code cell is sent to (Polyglot's per-cell kernel name; C# by default).</summary>
    private static string KernelName(JsonObject cell) => NotebookDocument.CellKernel(cell) switch
    {
        "c#" or "C#" or "csharp" => "csharp",
        var other => other,
    };
}
