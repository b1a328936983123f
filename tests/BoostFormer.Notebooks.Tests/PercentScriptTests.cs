using System.Text.Json.Nodes;
using BoostFormer.Notebooks;

namespace BoostFormer.Notebooks.Tests;

public class PercentScriptTests
{
    private const string Script = """
        // %% [markdown]
        // # Title
        //
        // Some *markdown*.

        // %%
        var x = 1;

        x + 1
        // %% a titled code cell
        #!time
        Console.WriteLine(x);
        """;

    [Fact]
    public void Cells_markdown_and_code_are_split_at_percent_markers()
    {
        var doc = PercentScript.ToNotebook(Script);
        var cells = doc.Cells.Select(c => (JsonObject)c!).ToList();
        cells.Select(c => c["cell_type"]!.GetValue<string>()).Should().Equal("markdown", "code", "code");
        NotebookDocument.Source(cells[0]).Should().Be("# Title\n\nSome *markdown*.");
        NotebookDocument.Source(cells[1]).Should().Be("var x = 1;\n\nx + 1");
        NotebookDocument.Source(cells[2]).Should().Be("#!time\nConsole.WriteLine(x);");
        NotebookDocument.CellKernel(cells[1]).Should().Be("csharp");
        doc.Root["metadata"]!["kernelspec"]!["name"]!.GetValue<string>().Should().Be(".net-csharp");
    }

    [Fact]
    public void Script_round_trips_through_a_notebook()
    {
        var once = PercentScript.FromNotebook(PercentScript.ToNotebook(Script));
        PercentScript.FromNotebook(PercentScript.ToNotebook(once)).Should().Be(once);
        once.Should().StartWith("// %% [markdown]\n// # Title\n//\n// Some *markdown*.\n\n// %%\nvar x = 1;");
    }

    [Fact]
    public void Non_comment_line_in_a_markdown_cell_is_an_error()
    {
        var act = () => PercentScript.ToNotebook("// %% [markdown]\n// ok\nnot a comment\n", "x.cs");
        act.Should().Throw<InvalidDataException>().WithMessage("x.cs: line 3: a markdown cell (started on line 1)*");
    }
}
