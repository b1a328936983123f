using System.CommandLine;
using System.Globalization;
using BoostFormer.Notebooks;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer notebooks run [files or folders…]</c>: executes notebooks headlessly in the .NET Interactive C# kernel
/// (the kernel of Polyglot Notebooks and Jupyter's .net-csharp) and writes the executed copies; exits non-zero naming
/// notebook, cell, line and exception at the first failing cell.
/// </summary>
public sealed class NotebooksCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("notebooks", "Work with the workbook's notebooks.");
        var paths = new Argument<string[]>("paths") { Description = "Notebooks (.ipynb) or folders of notebooks (default: notebooks/).", Arity = ArgumentArity.ZeroOrMore };
        var scale = new Option<string>("--scale") { Description = "Run scale exposed as Parameters.Scale: ci (seconds), demo (minutes) or full.", DefaultValueFactory = _ => RunScale.Demo.Name() };
        scale.AcceptOnlyFromAmong(RunScales.Names.ToArray());
        var param = new Option<string[]>("--param", "-p") { Description = "key=value exposed as Parameters.Get(key, default); (through the kernel's environment: BOOSTFORMER_PARAM_KEY); data=DIR sets the data root.", AllowMultipleArgumentsPerToken = false };
        var output = new Option<string>("--output", "-o") { Description = "Folder for executed copies.", DefaultValueFactory = _ => Path.Combine("out", "notebooks") };
        var inPlace = new Option<bool>("--in-place") { Description = "Write outputs back into the source notebooks (what the committed notebooks carry)." };
        // Training cells at demo and full scale run for as long as the machine needs (they print progress): no default limit
        // there. At ci scale a cell that runs past 30 min is a hang.
        var timeout = new Option<double?>("--timeout-per-cell") { Description = "Fail a cell that runs longer than this many seconds (0 = no limit; default 1800 at ci scale, no limit at demo and full)." };

        var run = new Command("run", "Execute notebooks headlessly in the .NET Interactive C# kernel and write the executed copies (nbformat 4.4, Polyglot metadata).");
        run.Arguments.Add(paths);
        run.Options.Add(scale);
        run.Options.Add(param);
        run.Options.Add(output);
        run.Options.Add(inPlace);
        run.Options.Add(timeout);
        run.SetAction((parseResult, _) => ExitCodes.RunAsync(async () =>
        {
            var stdout = Console.Out;
            var values = ParseParams(parseResult.GetValue(param) ?? Array.Empty<string>());
            var set = ParameterSet.Resolve(parseResult.GetValue(scale)!, values, Console.Error);
            var inputs = parseResult.GetValue(paths) is { Length: > 0 } p ? p : new[] { "notebooks" };
            var notebooks = NotebookRunner.FindNotebooks(inputs);
            if (notebooks.Count == 0) throw new ArgumentException($"no notebooks found in {string.Join(", ", inputs)}");
            double limit = parseResult.GetValue(timeout) ?? (set.Scale == RunScale.Ci ? 1800 : 0);
            if (limit < 0) throw new ArgumentException($"--timeout-per-cell must be >= 0, got {limit}");
            // Where the executed copies go must be writable before any cell runs: otherwise the executed cells are lost.
            if (parseResult.GetValue(inPlace)) foreach (var nb in notebooks) CliOptions.WritableFile(nb, "--in-place");
            else CliOptions.WritableFolder(parseResult.GetValue(output)!, "--output");
            var runner = new NotebookRunner(new NotebookRunOptions
            {
                Scale = set.Scale.Name(),
                DataRoot = set.DataRoot,
                Environment = set.ToEnvironment(),
                OutputDirectory = parseResult.GetValue(output)!,
                InPlace = parseResult.GetValue(inPlace),
                TimeoutPerCell = limit > 0 ? TimeSpan.FromSeconds(limit) : null,
                Log = stdout,
            });
            // An executed copy that cannot be written is a bad --output (usage, exit 2), found before any cell runs.
            try { runner.CheckOutputsWritable(notebooks); }
            catch (IOException e) { throw new ArgumentException(e.Message, e); }
            var results = await runner.RunAllAsync(notebooks);
            stdout.WriteLine();
            stdout.WriteLine($"{"notebook",-36} {"cells",5} {"seconds",8}  status");
            foreach (var r in results)
                stdout.WriteLine($"{Path.GetFileName(r.Source),-36} {r.CellsExecuted,5} {r.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture),8}  {(r.Succeeded ? "ok" : "FAILED")}");
            int skipped = notebooks.Count - results.Count;
            if (skipped > 0) stdout.WriteLine($"{skipped} notebook(s) not run after the failure");
            var failed = results.FirstOrDefault(r => !r.Succeeded);
            return failed is null ? ExitCodes.Success : ExitCodes.Fail($"{failed.Failure} (executed copy: {failed.Output})", ExitCodes.Failure);
        }));
        cmd.Subcommands.Add(run);
        cmd.Subcommands.Add(BuildConvert());
        cmd.Subcommands.Add(NotebooksPublishCommand.Build());
        return cmd;
    }

    private static Command BuildConvert()
    {
        var input = new Argument<string>("input") { Description = "A notebook (.ipynb) or a percent-format script (// %% cells)." };
        var output = new Argument<string>("output") { Description = "The converted file: .ipynb from a script, a script from an .ipynb." };
        var convert = new Command("convert", "Convert between .ipynb and the percent script format (// %% / // %% [markdown] cells), which is easier to write and review.");
        convert.Arguments.Add(input);
        convert.Arguments.Add(output);
        convert.SetAction(parseResult => ExitCodes.Run(() =>
        {
            var from = parseResult.GetValue(input)!;
            var to = parseResult.GetValue(output)!;
            if (!File.Exists(from)) throw new FileNotFoundException($"'{from}' does not exist", from);
            bool fromNotebook = from.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase), toNotebook = to.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase);
            if (fromNotebook == toNotebook) throw new ArgumentException($"convert needs exactly one .ipynb among '{from}' and '{to}'");
            if (toNotebook)
            {
                var doc = PercentScript.ToNotebook(File.ReadAllText(from), from);
                doc.Save(to);
                Console.WriteLine($"{from} -> {to}: {doc.Cells.Count} cells");
            }
            else
            {
                var text = PercentScript.FromNotebook(NotebookDocument.Load(from));
                var tmp = to + ".tmp";
                File.WriteAllText(tmp, text);
                File.Move(tmp, to, overwrite: true);
                Console.WriteLine($"{from} -> {to}");
            }
            return ExitCodes.Success;
        }));
        return convert;
    }

    /// <summary>Parses <c>key=value</c> pairs (later ones win).</summary>
    public static Dictionary<string, string> ParseParams(IEnumerable<string> items)
    {
        var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--param '{item}': expected key=value");
            d[item[..eq].Trim()] = item[(eq + 1)..];
        }
        return d;
    }
}
