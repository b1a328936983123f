using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BoostFormer.Notebooks;
using BoostFormer.Visualization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace BoostFormer.Lib.Tests.Notebooks;

/// <summary>The runner swaps Console.Out and the global Parameters: its tests run alone, one at a time.</summary>
[CollectionDefinition("NotebookRunner", DisableParallelization = true)]
public class NotebookRunnerCollection { }

[Collection("NotebookRunner")]
public class NotebookRunnerTests
{
    private static readonly string Fixtures = NotebookTestSupport.Fixtures;

    private static NotebookRunner Runner(string outDir, double? timeout = null, Dictionary<string, string>? values = null, string scale = "ci") =>
        new(new NotebookRunOptions
        {
            Parameters = new ParameterSet(scale, null, values ?? new Dictionary<string, string> { ["answer"] = "42" }),
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
                        else data[key] = Regex.Replace(text, @"data:image/png;base64,[A-Za-z0-9+/=]+", m => "data:" + PngSummary(Convert.FromBase64String(m.Value[22..])));
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
        result.CellsExecuted.Should().Be(8);
        ValidateNbformat(result.Output);
        Verify("succeeds", Normalise(result.Output));

        // Independent of the approved file: the MIME types the issue asks for are all there.
        var nb = Read(result.Output);
        var all = CellsOf(nb).Where(c => c["outputs"] is JsonArray).SelectMany(Outputs).ToList();
        all.Select(o => o["output_type"]!.GetValue<string>()).Distinct().Should().BeEquivalentTo(new[] { "stream", "execute_result", "display_data" });
        var mimes = all.Where(o => o["data"] is JsonObject).SelectMany(o => o["data"]!.AsObject().Select(kv => kv.Key)).Distinct().ToList();
        mimes.Should().Contain(new[] { "text/plain", "text/html", "text/markdown", "image/png", "image/svg+xml" });
        all.Where(o => o["output_type"]!.GetValue<string>() == "stream").Select(o => o["name"]!.GetValue<string>()).Should().Contain(new[] { "stdout", "stderr" });
        nb["metadata"]!["kernelspec"]!["name"]!.GetValue<string>().Should().Be(".net-csharp");
        nb["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>().Should().Be("csharp");
        nb["nbformat_minor"]!.GetValue<int>().Should().Be(4);
        CellsOf(nb).Where(c => c["cell_type"]!.GetValue<string>() == "code")
            .Should().OnlyContain(c => c["metadata"]!["polyglot_notebook"]!["kernelName"] != null);
        var counts = CellsOf(nb).Where(c => c["execution_count"] is JsonValue).Select(c => c["execution_count"]!.GetValue<int>()).ToList();
        counts.Should().Equal(Enumerable.Range(1, 8));
        // The markdown cell is untouched.
        var source = Read(Path.Combine(Fixtures, "succeeds.ipynb"));
        CellsOf(nb)[0]["source"]!.ToJsonString().Should().Be(CellsOf(source)[0]["source"]!.ToJsonString());
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
        html.Should().Contain("<svg xmlns=\"http://www.w3.org/2000/svg\"", "the chart must be embedded as inline SVG");
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
    public async Task Compilation_error_is_reported_with_its_line()
    {
        var outDir = NotebookTestSupport.TempDir("nb-cs");
        var result = await Runner(outDir).RunAsync(Path.Combine(Fixtures, "compile-error.ipynb"));
        var f = result.Failure!;
        (f.CellNumber, f.Line, f.ExceptionType).Should().Be((2, 2, "CompilationError"));
        f.Message.Should().StartWith("CS0103").And.Contain("undefinedVariable");
        ValidateNbformat(result.Output);
    }

    [Fact]
    public async Task Cell_past_its_time_limit_fails()
    {
        var outDir = NotebookTestSupport.TempDir("nb-timeout");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var result = await Runner(outDir, timeout: 2).RunAsync(Path.Combine(Fixtures, "timeout.ipynb"));
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(18), "the runner must not wait for the 20 s cell");
        var f = result.Failure!;
        (f.Notebook, f.CellNumber, f.TimedOut).Should().Be(("timeout.ipynb", 2, true));
        f.ToString().Should().Contain("timeout.ipynb: cell 2").And.Contain("timed out").And.Contain("2 s");
        ValidateNbformat(result.Output);
        Verify("timeout", Normalise(result.Output));
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

        var runner = new NotebookRunner(new NotebookRunOptions { Parameters = new ParameterSet("ci", null), InPlace = true, Log = TextWriter.Null });
        var result = await runner.RunAsync(nbPath);
        result.Failure.Should().BeNull();
        result.Output.Should().Be(nbPath, "--in-place writes back into the source notebook");
        var cell = CellsOf(Read(nbPath))[0];
        Text(Outputs(cell).Single()["data"]!["text/plain"]).Should().Be("hello notebook");
    }

    [Fact]
    public async Task Unsupported_magic_and_nuget_references_fail_clearly()
    {
        var dir = NotebookTestSupport.TempDir("nb-magic");
        var doc = NotebookDocument.Create();
        doc.AddCode("var a = 1;");
        doc.AddCode("#!fsharp\nlet x = 1");
        var path = Path.Combine(dir, "magic.ipynb");
        doc.Save(path);
        var r = await Runner(dir).RunAsync(path);
        r.Failure!.ToString().Should().Contain("cell 2, line 1").And.Contain("unsupported magic command '#!fsharp'");

        var doc2 = NotebookDocument.Create();
        doc2.AddCode("#r \"nuget: Newtonsoft.Json\"");
        var path2 = Path.Combine(dir, "nuget.ipynb");
        doc2.Save(path2);
        var r2 = await Runner(Path.Combine(dir, "out")).RunAsync(path2);
        r2.Failure!.Message.Should().Contain("NuGet references are not supported");
    }

    [Fact]
    public async Task Parameters_reach_the_notebook()
    {
        var dir = NotebookTestSupport.TempDir("nb-param");
        var doc = NotebookDocument.Create();
        doc.AddCode("$\"{Parameters.ScaleName}|{Parameters.Get(\"epochs\", 1)}|{Parameters.Get(\"lr\", 0.1)}|{Parameters.ByScale(1, 2, 3)}|{Parameters.DataRoot ?? \"none\"}\"");
        var path = Path.Combine(dir, "p.ipynb");
        doc.Save(path);
        var runner = new NotebookRunner(new NotebookRunOptions
        {
            Parameters = new ParameterSet("demo", "/some/data", new Dictionary<string, string> { ["epochs"] = "7", ["LR"] = "0.5" }),
            OutputDirectory = Path.Combine(dir, "out"), Log = TextWriter.Null,
        });
        var r = await runner.RunAsync(path);
        r.Failure.Should().BeNull();
        Text(Outputs(CellsOf(Read(r.Output))[0]).Single()["data"]!["text/plain"]).Should().Be("demo|7|0.5|2|/some/data");
    }

    [Fact]
    public void Auto_imported_namespaces_have_no_ambiguous_type_names()
    {
        // Cells import every BoostFormer.* namespace of the library plus TorchSharp and TorchSharp.torch (static): two public
        // types with the same name in those namespaces would make that name ambiguous (CS0104) in every notebook.
        var lib = typeof(NotebookRunner).Assembly.GetExportedTypes().Where(t => !t.IsNested && t.Namespace?.StartsWith("BoostFormer") == true);
        var torchTypes = typeof(TorchSharp.torch).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == "TorchSharp" && (!t.IsNested || t.DeclaringType == typeof(TorchSharp.torch)));
        var clashes = lib.Concat(torchTypes)
            .GroupBy(t => t.Name.Split('`')[0])
            .Where(g => g.Select(t => t.Namespace).Distinct().Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(t => t.FullName))}")
            .ToList();
        clashes.Should().BeEmpty("notebook cells import all these namespaces");
    }

    [Fact]
    public void Parameter_resolution_follows_param_then_environment()
    {
        var dir = NotebookTestSupport.TempDir("nb-root");
        ParameterSet.Resolve("ci", new Dictionary<string, string> { ["data"] = dir }).DataRoot.Should().Be(Path.GetFullPath(dir));
        var act = () => ParameterSet.Resolve("ci", new Dictionary<string, string> { ["data"] = Path.Combine(dir, "missing") });
        act.Should().Throw<DirectoryNotFoundException>().WithMessage("*--param data=*missing*does not exist*");
        var bad = () => new ParameterSet("huge", null);
        bad.Should().Throw<ArgumentException>().WithMessage("*unknown scale 'huge'*");
        new ParameterSet("CI", null).Scale.Should().Be(RunScale.Ci);
        RunScales.Names.Should().Equal("ci", "demo", "full");
        using (Parameters.Use(new ParameterSet("ci", null, new Dictionary<string, string> { ["n"] = "x" })))
        {
            var conv = () => Parameters.Get("n", 3);
            conv.Should().Throw<ArgumentException>().WithMessage("*n=x is not a valid Int32*");
        }
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
