using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BoostFormer.Lib.Tests.Notebooks;
using BoostFormer.Notebooks;
using BoostFormer.Visualization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace BoostFormer.Notebooks.Tests;

/// <summary>Every notebook starts a kernel process (two cores on CI): these tests run one at a time.</summary>
[CollectionDefinition("NotebookRunner", DisableParallelization = true)]
public class NotebookRunnerCollection { }

public static class NotebookFixtures
{
    /// <summary>This folder in the source tree.</summary>
    public static string SourceDir([CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;

    /// <summary>The fixture notebooks (they #r the library from src/BoostFormer.Cli/bin/Release, as the workbook's notebooks do).</summary>
    public static string Dir => Path.Combine(SourceDir(), "fixtures");

    /// <summary>The first lines of a code cell that loads the library, for a notebook written to <paramref name="notebookDir"/>.</summary>
    public static string LibraryCell(string notebookDir)
    {
        var bin = Path.Combine(SourceDir(), "..", "..", "src", "BoostFormer.Cli", "bin", "Release", "net10.0");
        var rel = Path.GetRelativePath(notebookDir, Path.GetFullPath(bin)).Replace('\\', '/');
        return $"#r \"{rel}/TorchSharp.dll\"\n#r \"{rel}/BoostFormer.Lib.dll\"\nusing BoostFormer;\nusing BoostFormer.Notebooks;\nEngine.Initialize();\n";
    }
}

[Collection("NotebookRunner")]
public class NotebookRunnerTests
{
    private static readonly string Fixtures = NotebookFixtures.Dir;

    private static NotebookRunner Runner(string outDir, double? timeout = null, Dictionary<string, string?>? environment = null, string scale = "ci") =>
        new(new NotebookRunOptions
        {
            Scale = scale,
            Environment = environment ?? new Dictionary<string, string?>
            {
                ["BOOSTFORMER_SCALE"] = scale, ["BOOSTFORMER_DATA"] = null, ["BOOSTFORMER_PARAM_ANSWER"] = "42",
            },
            OutputDirectory = outDir,
            TimeoutPerCell = timeout is { } t ? TimeSpan.FromSeconds(t) : null,
            Log = TextWriter.Null,
        });

    private static JsonObject Read(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    private static List<JsonObject> CellsOf(JsonObject nb) => nb["cells"]!.AsArray().Select(c => (JsonObject)c!).ToList();

    private static List<JsonObject> Outputs(JsonObject cell) => cell["outputs"]!.AsArray().Select(o => (JsonObject)o!).ToList();

    private static string Text(JsonNode? n) => n switch
    {
        JsonArray a => string.Concat(a.Select(x => x!.GetValue<string>())),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    };

    /// <summary>
    /// Normalises an executed notebook for approval: run times and wall-time lines are masked, PNGs are replaced by their
    /// decoded size and a pixel hash (compressed bytes may differ between zlib versions), tracebacks keep their first line.
    /// </summary>
    public static string Normalise(string executedPath)
    {
        var nb = Read(executedPath);
        nb["metadata"]!["boostformer"]!.AsObject().Remove("run_seconds");
        foreach (var cell in CellsOf(nb))
        {
            if (cell["outputs"] is not JsonArray outs) continue;
            foreach (var o in outs.Select(x => (JsonObject)x!))
            {
                if (o["output_type"]!.GetValue<string>() == "stream")
                    o["text"] = Regex.Replace(Text(o["text"]), @"Wall time: [0-9.]+ ms", "Wall time: <t> ms");
                if (o["traceback"] is JsonArray tb) o["traceback"] = new JsonArray(JsonValue.Create(tb[0]!.GetValue<string>()));
                if (o["data"] is JsonObject data)
                {
                    foreach (var key in data.Select(kv => kv.Key).ToList())
                    {
                        var text = Text(data[key]);
                        if (key == MimeTypes.Png) data[key] = PngSummary(Convert.FromBase64String(text));
                        else data[key] = Regex.Replace(Regex.Replace(text, @"data:image/png;base64,[A-Za-z0-9+/=]+", m => "data:" + PngSummary(Convert.FromBase64String(m.Value[22..]))),
                            @"bf-chart-[0-9a-f]+-[0-9]+", "bf-chart-<id>");   // a chart's element id carries a per-process counter
                    }
                }
            }
        }
        return nb.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static string PngSummary(byte[] png)
    {
        var img = Png.Decode(png);
        return $"png {img.Width}x{img.Height}x{img.Channels} sha256:{Convert.ToHexString(SHA256.HashData(img.Pixels))[..16]}";
    }

    /// <summary>Compares with fixtures/approved/NAME.approved.json; on a difference writes NAME.received.json beside it. BOOSTFORMER_APPROVE=1 accepts.</summary>
    private static void Verify(string name, string actual)
    {
        var approved = Path.Combine(Fixtures, "approved", name + ".approved.json");
        var received = Path.Combine(Fixtures, "approved", name + ".received.json");
        if (Environment.GetEnvironmentVariable("BOOSTFORMER_APPROVE") == "1")
        {
            File.WriteAllText(approved, actual);
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        var expected = File.Exists(approved) ? File.ReadAllText(approved) : null;
        if (expected == actual) { if (File.Exists(received)) File.Delete(received); return; }
        File.WriteAllText(received, actual);
        expected.Should().Be(actual, $"the normalised executed notebook must match {approved} (see {received}; set BOOSTFORMER_APPROVE=1 to accept)");
    }

    private static void ValidateNbformat(string path)
    {
        var (code, output) = NotebookTestSupport.Python("import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], 4)); print('valid')", path);
        code.Should().Be(0, output);
        output.Should().Contain("valid");
    }

    [Fact]
    public async Task Succeeding_notebook_matches_approved_outputs_and_validates()
    {
        var outDir = NotebookTestSupport.TempDir("nb-ok");
        var result = await Runner(outDir).RunAsync(Path.Combine(Fixtures, "succeeds.ipynb"));
        result.Failure.Should().BeNull();
        result.CellsExecuted.Should().Be(7);
        ValidateNbformat(result.Output);
        Verify("succeeds", Normalise(result.Output));

        // Independent of the approved file: the kernel's output types and our display types' MIME types.
        var nb = Read(result.Output);
        var cells = CellsOf(nb);
        var all = cells.Where(c => c["outputs"] is JsonArray).SelectMany(Outputs).ToList();
        all.Select(o => o["output_type"]!.GetValue<string>()).Distinct().Should().BeEquivalentTo(new[] { "stream", "execute_result", "display_data" });
        all.Where(o => o["output_type"]!.GetValue<string>() == "stream").Select(o => o["name"]!.GetValue<string>()).Should().Contain(new[] { "stdout", "stderr" });
        string.Concat(Outputs(cells[1]).Select(o => Text(o["text"]))).Should().Contain("scale=ci answer=42 data=no folder=fixtures", "parameters and the current directory reach the kernel");
        // execute_result: a string as text/plain (the kernel's choice), a number as the kernel's text/html plus text/plain.
        var result3 = Outputs(cells[2]).Single();
        result3["output_type"]!.GetValue<string>().Should().Be("execute_result");
        Text(result3["data"]!["text/plain"]).Should().Be("HELLO FROM CELL 2");
        var result4 = Outputs(cells[3]).Single();
        result4["data"]!.AsObject().Select(kv => kv.Key).Should().Equal("text/html", "text/plain");
        Text(result4["data"]!["text/plain"]).Should().Be("66");
        // Chart (display_data): text/html (the static PNG and the live-chart script), image/png, text/plain.
        var chart = Outputs(cells[4]).Single();
        chart["output_type"]!.GetValue<string>().Should().Be("display_data");
        chart["data"]!.AsObject().Select(kv => kv.Key).Should().BeEquivalentTo(new[] { "text/html", "image/png", "text/plain" });
        Text(chart["data"]!["text/html"]).Should().StartWith("<div class=\"bf-chart\"").And.Contain("<img src=\"data:image/png;base64,").And.NotContain("https://");
        Text(chart["data"]!["text/plain"]).Should().NotBeEmpty();
        // Image: the PNG inlined in text/html; Table: an HTML table; Markdown: text/markdown.
        Text(Outputs(cells[5])[0]["data"]!["text/html"]).Should().StartWith("<img src=\"data:image/png;base64,iVBORw0KGgo");
        Text(Outputs(cells[5])[1]["data"]!["text/plain"]).Should().Contain("labels");
        Text(Outputs(cells[6])[0]["data"]!["text/html"]).Should().Contain("<table").And.Contain("fixture table");
        var md = Outputs(cells[7])[0]["data"]!.AsObject();
        md.Select(kv => kv.Key).Should().Equal("text/markdown", "text/plain");
        Text(md["text/markdown"]).Should().Be("**computed** markdown: 2");

        nb["metadata"]!["kernelspec"]!["name"]!.GetValue<string>().Should().Be(".net-csharp");
        nb["metadata"]!["language_info"]!["pygments_lexer"]!.GetValue<string>().Should().Be("csharp");
        nb["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>().Should().Be("csharp");
        nb["nbformat_minor"]!.GetValue<int>().Should().Be(4);
        cells.Where(c => c["cell_type"]!.GetValue<string>() == "code")
            .Should().OnlyContain(c => c["metadata"]!["polyglot_notebook"]!["kernelName"] != null && c["metadata"]!["dotnet_interactive"]!["language"] != null);
        var counts = cells.Where(c => c["execution_count"] is JsonValue).Select(c => c["execution_count"]!.GetValue<int>()).ToList();
        counts.Should().Equal(Enumerable.Range(1, 7));
        // The markdown cell is untouched.
        var source = Read(Path.Combine(Fixtures, "succeeds.ipynb"));
        cells[0]["source"]!.ToJsonString().Should().Be(CellsOf(source)[0]["source"]!.ToJsonString());
    }

    [Fact]
    public async Task Executed_notebook_converts_to_HTML_with_its_image_and_chart()
    {
        var outDir = NotebookTestSupport.TempDir("nb-html");
        var result = await Runner(outDir).RunAsync(Path.Combine(Fixtures, "succeeds.ipynb"));
        result.Failure.Should().BeNull();
        var (code, output) = NotebookTestSupport.Run("jupyter", "nbconvert", "--to", "html", "--output-dir", outDir, result.Output);
        code.Should().Be(0, output);
        var html = File.ReadAllText(Path.Combine(outDir, "succeeds.html"));
        html.Should().Contain("<img src=\"data:image/png;base64,iVBORw0KGgo", "the PNG output must be embedded as an <img>");
        html.Should().Contain("<div class=\"bf-chart\"", "the chart's static image is embedded in the page");
        html.Should().Contain("Fixture chart").And.Contain("fixture table");
    }

    [Fact]
    public async Task Failing_cell_stops_the_run_and_is_named_with_its_line()
    {
        var outDir = NotebookTestSupport.TempDir("nb-fail");
        var result = await Runner(outDir).RunAsync(Path.Combine(Fixtures, "fails.ipynb"));
        result.Succeeded.Should().BeFalse();
        var f = result.Failure!;
        (f.Notebook, f.CellNumber, f.Line, f.ExceptionType, f.TimedOut).Should().Be(("fails.ipynb", 3, 2, "System.InvalidOperationException", false));
        f.Message.Should().Be("boom at n=42", "state from cell 2 is visible in cell 3");
        f.ToString().Should().Be("fails.ipynb: cell 3, line 2: System.InvalidOperationException: boom at n=42");
        ValidateNbformat(result.Output);
        Verify("fails", Normalise(result.Output));
        var cells = CellsOf(Read(result.Output));
        Outputs(cells[2]).Single()["output_type"]!.GetValue<string>().Should().Be("error");
        Outputs(cells[3]).Should().BeEmpty("cells after the failure are not run");
        cells[3]["execution_count"].Should().BeNull();
    }

    [Fact]
    public async Task Namespaces_the_kernel_does_not_import_are_compile_errors()
    {
        // The real kernel imports System, System.Linq, System.Collections.Generic, System.Text and System.Threading.Tasks
        // only: `Path` without `using System.IO;` fails here exactly as it does in Polyglot Notebooks and Jupyter.
        var outDir = NotebookTestSupport.TempDir("nb-cs");
        var result = await Runner(outDir).RunAsync(Path.Combine(Fixtures, "compile-error.ipynb"));
        var f = result.Failure!;
        (f.CellNumber, f.Line, f.ExceptionType).Should().Be((2, 2, "CompilationError"));
        f.Message.Should().Be("CS0103: The name 'Path' does not exist in the current context");
        ValidateNbformat(result.Output);
        var error = Outputs(CellsOf(Read(result.Output))[1]).Single();
        error["ename"]!.GetValue<string>().Should().Be("CompilationError");
        error["traceback"]![0]!.GetValue<string>().Should().StartWith("(2,");
    }

    [Fact]
    public async Task Cell_past_its_time_limit_fails()
    {
        var outDir = NotebookTestSupport.TempDir("nb-timeout");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        // 20 s: the first cell (the kernel's first compilation) must not hit the limit on a heavily loaded 2-core machine;
        // the slow cell sleeps 600 s, so a run that ends well before that did not wait for it.
        var result = await Runner(outDir, timeout: 20).RunAsync(Path.Combine(Fixtures, "timeout.ipynb"));
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(300), "the runner must not wait for the 600 s cell");
        var f = result.Failure!;
        (f.Notebook, f.CellNumber, f.TimedOut).Should().Be(("timeout.ipynb", 2, true));
        f.ToString().Should().Contain("timeout.ipynb: cell 2").And.Contain("timed out").And.Contain("20 s");
        ValidateNbformat(result.Output);
        Verify("timeout", Normalise(result.Output));
    }

    [Fact]
    public async Task Cell_that_ends_the_kernel_process_fails_the_run_clearly()
    {
        var outDir = NotebookTestSupport.TempDir("nb-exit");
        var result = await Runner(outDir).RunAsync(Path.Combine(Fixtures, "exits.ipynb"));
        var f = result.Failure!;
        (f.Notebook, f.CellNumber, f.ExceptionType, f.KernelExited).Should().Be(("exits.ipynb", 2, "KernelExited", true));
        f.ToString().Should().StartWith("exits.ipynb: cell 2: the cell ended the kernel process (exit code 3): Environment.Exit or a crash");
        ValidateNbformat(result.Output);
        var cells = CellsOf(Read(result.Output));
        Text(Outputs(cells[1])[0]["text"]).Should().Be("exiting\n", "output before the exit is kept");
        Outputs(cells[1]).Last()["ename"]!.GetValue<string>().Should().Be("KernelExited");
        Outputs(cells[2]).Should().BeEmpty();
    }

    [Fact]
    public async Task Reference_directive_resolves_relative_to_the_notebook()
    {
        var dir = NotebookTestSupport.TempDir("nb-ref");
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        var compilation = CSharpCompilation.Create("FixtureGreeter",
            new[] { CSharpSyntaxTree.ParseText("namespace Fixture; public static class Greeter { public static string Hello(string n) => \"hello \" + n; }") },
            new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) },
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var emit = compilation.Emit(Path.Combine(dir, "lib", "FixtureGreeter.dll"));
        emit.Success.Should().BeTrue(string.Join("\n", emit.Diagnostics));

        var doc = NotebookDocument.Create();
        doc.AddCode("#r \"lib/FixtureGreeter.dll\"\nFixture.Greeter.Hello(\"notebook\")");
        var nbPath = Path.Combine(dir, "ref.ipynb");
        doc.Save(nbPath);

        var runner = new NotebookRunner(new NotebookRunOptions { Scale = "ci", InPlace = true, Log = TextWriter.Null });
        var result = await runner.RunAsync(nbPath);
        result.Failure.Should().BeNull();
        result.Output.Should().Be(nbPath, "--in-place writes back into the source notebook");
        var cell = CellsOf(Read(nbPath))[0];
        Text(Outputs(cell).Single()["data"]!["text/plain"]).Should().Be("hello notebook");
    }

    [Fact]
    public async Task The_library_is_loaded_only_by_the_notebooks_own_reference_and_only_once()
    {
        var dir = NotebookTestSupport.TempDir("nb-once");
        var doc = NotebookDocument.Create();
        const string count = "string.Join(\",\", new[] { \"TorchSharp\", \"BoostFormer.Lib\" }.Select(n => AppDomain.CurrentDomain.GetAssemblies().Count(a => a.GetName().Name == n)))";
        doc.AddCode(count);
        doc.AddCode(NotebookFixtures.LibraryCell(dir) + "Console.WriteLine(TorchSharp.torch.ones(2, 2).sum().item<float>());\n" + count);
        var path = Path.Combine(dir, "once.ipynb");
        doc.Save(path);
        var r = await Runner(Path.Combine(dir, "out")).RunAsync(path);
        r.Failure.Should().BeNull();
        var cells = CellsOf(Read(r.Output));
        Text(Outputs(cells[0]).Single()["data"]!["text/plain"]).Should().Be("0,0", "the kernel process loads no BoostFormer or TorchSharp assembly by itself");
        Text(Outputs(cells[1])[0]["text"]).Should().Be("4\n", "TorchSharp's native libraries load in the kernel");
        Text(Outputs(cells[1])[1]["data"]!["text/plain"]).Should().Be("1,1", "#r loads one copy of each");
    }

    [Fact]
    public async Task Cell_for_a_kernel_that_does_not_exist_fails_naming_it()
    {
        var dir = NotebookTestSupport.TempDir("nb-magic");
        var doc = NotebookDocument.Create();
        doc.AddCode("var a = 1;");
        doc.AddCode("#!fsharp\nlet x = 1");
        var path = Path.Combine(dir, "magic.ipynb");
        doc.Save(path);
        var r = await Runner(dir).RunAsync(path);
        r.Failure!.CellNumber.Should().Be(2);
        r.Failure.ToString().Should().Contain("fsharp");
    }

    [Fact]
    public async Task Parameters_reach_the_notebook()
    {
        var dir = NotebookTestSupport.TempDir("nb-param");
        var data = Directory.CreateDirectory(Path.Combine(dir, "data")).FullName;
        var doc = NotebookDocument.Create();
        doc.AddCode(NotebookFixtures.LibraryCell(dir) + "$\"{Parameters.ScaleName}|{Parameters.Get(\"epochs\", 1)}|{Parameters.Get(\"lr\", 0.1)}|{Parameters.ByScale(1, 2, 3)}|{Parameters.DataRoot ?? \"none\"}\"");
        var path = Path.Combine(dir, "p.ipynb");
        doc.Save(path);
        var set = new BoostFormer.Notebooks.ParameterSet("demo", data, new Dictionary<string, string> { ["epochs"] = "7", ["LR"] = "0.5" });
        var runner = new NotebookRunner(new NotebookRunOptions
        {
            Scale = set.Scale.Name(), DataRoot = set.DataRoot, Environment = set.ToEnvironment(),
            OutputDirectory = Path.Combine(dir, "out"), Log = TextWriter.Null,
        });
        var r = await runner.RunAsync(path);
        r.Failure.Should().BeNull();
        Text(Outputs(CellsOf(Read(r.Output))[0]).Single()["data"]!["text/plain"]).Should().Be($"demo|7|0.5|2|{data}");
    }

    [Fact]
    public async Task An_output_that_cannot_be_written_fails_before_anything_runs()
    {
        var dir = NotebookTestSupport.TempDir("nb-unwritable");
        var blocker = Path.Combine(dir, "not-a-folder");
        File.WriteAllText(blocker, "a file where the output folder should be");
        var runner = Runner(blocker);
        var act = () => runner.RunAllAsync(new[] { Path.Combine(Fixtures, "fails.ipynb") });
        (await act.Should().ThrowAsync<IOException>()).WithMessage($"cannot write the executed copy of fails.ipynb to '{Path.Combine(blocker, "fails.ipynb")}'*");
    }

    [Fact]
    public void Notebook_document_round_trips_sources_and_drops_cell_ids()
    {
        var dir = NotebookTestSupport.TempDir("nb-doc");
        var path = Path.Combine(dir, "d.ipynb");
        File.WriteAllText(path, """
        {"cells":[{"cell_type":"code","id":"abc","metadata":{"custom":1},"source":"a\nb\n","outputs":[],"execution_count":3}],
         "metadata":{"foo":"bar"},"nbformat":4,"nbformat_minor":5}
        """);
        var doc = NotebookDocument.Load(path);
        doc.EnsurePolyglotMetadata();
        doc.Save(path);
        var nb = Read(path);
        var cell = CellsOf(nb)[0];
        cell.ContainsKey("id").Should().BeFalse();
        cell["source"]!.ToJsonString().Should().Be("[\"a\\n\",\"b\\n\"]");
        cell["metadata"]!["custom"]!.GetValue<int>().Should().Be(1, "unknown metadata survives");
        nb["metadata"]!["foo"]!.GetValue<string>().Should().Be("bar");
        ValidateNbformat(path);

        File.WriteAllText(path, "{\"nbformat\": 3}");
        var act = () => NotebookDocument.Load(path);
        act.Should().Throw<InvalidDataException>().WithMessage($"*{path}*only nbformat 4*");
    }
}
