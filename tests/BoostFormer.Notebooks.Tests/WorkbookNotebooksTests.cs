using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace BoostFormer.Notebooks.Tests;

/// <summary>The workbook's notebooks (notebooks/*.ipynb) keep the conventions that make them run unchanged in the runner, VS Code and Jupyter.</summary>
public class WorkbookNotebooksTests
{
    private static string NotebooksDir => Path.GetFullPath(Path.Combine(NotebookFixtures.SourceDir(), "..", "..", "notebooks"));

    public static TheoryData<string> Notebooks()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(NotebooksDir, "*.ipynb").OrderBy(f => f, StringComparer.Ordinal)) data.Add(Path.GetFileName(f));
        return data;
    }

    private static List<(string Type, string Source)> Cells(JsonNode nb) =>
        nb["cells"]!.AsArray().Select(c => (c!["cell_type"]!.GetValue<string>(),
            c["source"] is JsonArray a ? string.Concat(a.Select(l => l!.GetValue<string>())) : c["source"]!.GetValue<string>())).ToList();

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void A_notebook_starts_with_the_library_cell_and_ends_with_what_we_learned(string name)
    {
        var path = Path.Combine(NotebooksDir, name);
        var nb = JsonNode.Parse(File.ReadAllText(path))!;
        nb["metadata"]!["language_info"]!["pygments_lexer"]!.GetValue<string>().Should().Be("csharp");
        nb["metadata"]!["kernelspec"]!["name"]!.GetValue<string>().Should().Be(".net-csharp");
        var cells = Cells(nb);
        var code = cells.Where(c => c.Type == "code").Select(c => c.Source).ToList();
        var first = code[0];
        first.Should().Contain("Engine.Initialize();").And.Contain("using System.IO;").And.Contain("using static TorchSharp.torch;");
        foreach (Match m in Regex.Matches(first, "^#r \"([^\"]+)\"", RegexOptions.Multiline))
        {
            m.Groups[1].Value.Should().StartWith("../", "references are relative to the notebook's folder");
            File.Exists(Path.GetFullPath(Path.Combine(NotebooksDir, m.Groups[1].Value))).Should().BeTrue($"{name} references {m.Groups[1].Value}, which the Release build writes");
        }
        var firstOf00 = Cells(JsonNode.Parse(File.ReadAllText(Path.Combine(NotebooksDir, "00-tour.ipynb")))!).First(c => c.Type == "code").Source;
        first.Should().StartWith(firstOf00.Split("Engine.Initialize();")[0], "every notebook loads the library with the same lines");
        foreach (var c in code)
        {
            c.Should().NotContain("#!time").And.NotContain("#!markdown");
            Regex.IsMatch(c, @"(?<![\w.])markdown\(").Should().BeFalse("markdown(…) was the old runner's helper: use new Markdown(…)");
        }
        cells[^2].Type.Should().Be("markdown");
        cells[^2].Source.Should().Contain("## What we learned");
        cells[^1].Type.Should().Be("code");
        cells[^1].Source.Should().Contain("new Markdown(").And.Contain("$\"", "the closing sentences are computed from the values above");
    }
}
