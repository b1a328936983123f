using System.CommandLine;
using BoostFormer.Notebooks;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer notebooks publish [notebooks or folders…] --output site/</c>: renders executed notebooks into a static
/// HTML site (a page per notebook, an index, plotly.js served from the folder) that opens with no network
/// (<see cref="SitePublisher"/>). A notebook that carries an error output is published and reported, and the verb exits 1.
/// </summary>
public static class NotebooksPublishCommand
{
    /// <summary>The <c>publish</c> subcommand of <c>notebooks</c>.</summary>
    public static Command Build()
    {
        var paths = new Argument<string[]>("paths") { Description = "Executed notebooks (.ipynb) or folders of them (default: notebooks/).", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the site.", DefaultValueFactory = _ => "site" };
        var publish = new Command("publish", "Render executed notebooks into an offline HTML site: one page per notebook plus index.html.");
        publish.Arguments.Add(paths);
        publish.Options.Add(output);
        publish.SetAction(parseResult => ExitCodes.Run(() =>
        {
            var inputs = parseResult.GetValue(paths) is { Length: > 0 } p ? p : new[] { "notebooks" };
            var notebooks = SitePublisher.FindNotebooks(inputs);
            if (notebooks.Count == 0) throw new ArgumentException($"no notebooks found in {string.Join(", ", inputs)}");
            var pages = SitePublisher.Publish(notebooks, parseResult.GetValue(output)!, Console.Out);
            var failed = pages.Where(pg => pg.Errors > 0).ToList();
            return failed.Count == 0
                ? ExitCodes.Success
                : ExitCodes.Fail($"{string.Join(", ", failed.Select(f => Path.GetFileName(f.Source)))} carr{(failed.Count == 1 ? "ies" : "y")} error outputs (published as they are)", ExitCodes.Failure);
        }));
        return publish;
    }
}
