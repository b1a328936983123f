using System.CommandLine;
using BoostFormer.Models;
using BoostFormer.Profiling;
using BoostFormer.Training;
using Spectre.Console;

namespace BoostFormer.Cli.Commands;

/// <summary><c>boostformer profile</c>: parameters and multiply-accumulates per module and in total, with the convention stated.</summary>
public sealed class ProfileCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<string?>("--model") { Description = "Model name: segformer-b0..b5, boostformer-b0..b5, the zoo's named models (default segformer-b0)." };
        var config = new Option<string?>("--config") { Description = "A model config.json (any variant, e.g. a zoo module such as decoder_type \"lawin\") instead of --model" };
        var input = new Option<string>("--input") { Description = "Input size HxW.", DefaultValueFactory = _ => "512x512" };
        var classes = new Option<int>("--classes") { Description = "Number of classes.", DefaultValueFactory = _ => 150 };
        var json = new Option<bool>("--json") { Description = "Print JSON (params, macs, breakdowns, modules) instead of a table." };
        var convention = new Option<string>("--convention") { Description = "all = conv+linear+attention matmuls (paper); conv-linear = thop style.", DefaultValueFactory = _ => "all" };
        var depth = new Option<int>("--depth") { Description = "Deepest module level shown in the table (0 = model only).", DefaultValueFactory = _ => 3 };
        var cmd = new Command("profile", "Count parameters and multiply-accumulates (MACs) per module from one real forward pass.")
        {
            model, config, input, classes, json, convention, depth,
        };
        cmd.SetAction(parse => ExitCodes.Run(() =>
        {
            var size = InputSize.Parse(parse.GetValue(input)!);
            if (size.Height < CliOptions.MinimumSize || size.Width < CliOptions.MinimumSize)
                throw new ArgumentException($"--input {size}: both sides must be at least {CliOptions.MinimumSize} (the encoder downsamples by 32)");
            CliOptions.AtLeast(parse.GetValue(classes), 1, "--classes");
            var conv = ProfileRenderers.ParseConvention(parse.GetValue(convention)!);
            var d = parse.GetValue(depth);
            if (d < 0) throw new ArgumentException($"--depth must be ≥ 0, got {d}");
            var spec = (CliOptions.Model(parse.GetValue(model), parse.GetValue(config)) ?? "segformer-b0")!.WithLabels(parse.GetValue(classes));
            var report = SegformerProfiling.Profile(spec.Config, size, conv, spec.Name);
            if (parse.GetValue(json)) Console.WriteLine(ProfileRenderers.ToJson(report, d));
            else if (Console.IsOutputRedirected) Console.Write(ProfileRenderers.ToText(report, d));
            else WriteTable(report, d);
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static void WriteTable(ProfileReport report, int depth)
    {
        var table = new Table().Border(TableBorder.Rounded);
        for (int i = 0; i < ProfileRenderers.Columns.Length; i++)
        {
            var col = new TableColumn(ProfileRenderers.Columns[i]);
            if (i >= 2) col.RightAligned();
            table.AddColumn(col);
        }
        foreach (var m in ProfileRenderers.Rows(report, depth))
        {
            var cells = ProfileRenderers.Cells(report, m);
            cells[0] = new string(' ', 2 * Math.Max(0, m.Depth - 1)) + cells[0];
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
        foreach (var l in ProfileRenderers.TotalsLines(report)) AnsiConsole.WriteLine(l);
    }
}
