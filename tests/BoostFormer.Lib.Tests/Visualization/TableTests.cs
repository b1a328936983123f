using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class TableTests
{
    private sealed record Row(string Model, double Params, int Layers);

    [Fact]
    public void Records_become_columns_in_declaration_order()
    {
        var t = Table.From(new[] { new Row("B0", 3.7152, 8), new Row("B1|x", 13.7, 8) }, title: "models");
        t.Columns.Should().Equal("Model", "Params", "Layers");
        t.ToMarkdown().Should().Be("**models**\n\n| Model | Params | Layers |\n|---|---:|---:|\n| B0 | 3.7152 | 8 |\n| B1\\|x | 13.7 | 8 |\n");
        t.ToString().Should().Be("models\nModel  Params  Layers\n-----  ------  ------\nB0     3.7152       8\nB1|x     13.7       8");
        t.WithNumberFormat("F1").ToMarkdown().Should().Contain("| B0 | 3.7 | 8 |");
        t.Formats().Select(f => f.Mime).Should().Equal("text/html", "text/markdown", "text/plain");
    }

    [Fact]
    public void Anonymous_types_and_dictionaries_work()
    {
        Table.From(new[] { new { A = 1, B = "<x>" } }).ToHtml().Should().Contain("<th").And.Contain("&lt;x&gt;");
        var d = Table.From(new[] { new Dictionary<string, object?> { ["a"] = 1 }, new Dictionary<string, object?> { ["b"] = 2.5 } });
        d.Columns.Should().Equal("a", "b");
        d.ToMarkdown().Should().Contain("| 1 |  |").And.Contain("|  | 2.5 |");
        Table.From(new[] { new { V = 1e-5 }, new { V = 2.5e7 } }).ToMarkdown().Should().Contain("| 1e-5 |").And.Contain("| 2.5e+7 |");
    }
}
