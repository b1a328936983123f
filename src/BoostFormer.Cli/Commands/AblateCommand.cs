using System.CommandLine;
using BoostFormer.Profiling;

namespace BoostFormer.Cli.Commands;

/// <summary><c>boostformer ablate --table</c>: regenerates results/ablation.md and results/ablation.csv; <c>--family</c>: results/family.md and .csv.</summary>
public sealed class AblateCommand : ICliCommand
{
    public Command Build()
    {
        var table = new Option<bool>("--table") { Description = "Build the ablation table (base model, each BoostFormer switch alone, all together)." };
        var family = new Option<bool>("--family") { Description = "Build the model family table (results/family.md, .csv): every named model and each zoo module in SegFormer-B0, beside published numbers." };
        var input = new Option<string>("--input") { Description = "Input size HxW for MACs and latency.", DefaultValueFactory = _ => "512x512" };
        var classes = new Option<int>("--classes") { Description = "Number of classes.", DefaultValueFactory = _ => 150 };
        var baseModel = new Option<string>("--base") { Description = "Base SegFormer the switches are applied to.", DefaultValueFactory = _ => "segformer-b2" };
        var outDir = new Option<string>("--out") { Description = "Output directory for ablation.md and ablation.csv.", DefaultValueFactory = _ => "results" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed warm-up forwards per configuration.", DefaultValueFactory = _ => 1 };
        var runs = new Option<int>("--runs") { Description = "Timed forwards per configuration (0 = no latency column).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int?>("--threads") { Description = "libtorch intra-op threads for the latency runs." };
        var cmd = new Command("ablate", "BoostFormer ablation: params, MACs and CPU latency of each switch alone and all together.")
        {
            table, family, input, classes, baseModel, outDir, warmup, runs, threads,
        };
        cmd.SetAction(parse => ExitCodes.Run(() =>
        {
            if (!parse.GetValue(table) && !parse.GetValue(family)) throw new ArgumentException("nothing to do: pass --table (ablation table) or --family (model family table)");
            var options = new AblationOptions
            {
                Input = InputSize.Parse(parse.GetValue(input)!),
                Classes = parse.GetValue(classes),
                BaseModel = parse.GetValue(baseModel)!,
                Warmup = parse.GetValue(warmup),
                Runs = parse.GetValue(runs),
                Threads = parse.GetValue(threads),
            };
            if (parse.GetValue(family))
            {
                var fam = ModelFamily.Run(options, Console.Error.WriteLine);
                var (fmd, fcsv) = fam.WriteTo(parse.GetValue(outDir)!);
                Console.Write(fam.ToMarkdown());
                Console.WriteLine();
                Console.WriteLine($"wrote {fmd} and {fcsv}");
                if (!parse.GetValue(table)) return ExitCodes.Success;
            }
            var result = Ablation.Run(options, Console.Error.WriteLine);
            var (md, csv) = result.WriteTo(parse.GetValue(outDir)!);
            Console.Write(result.ToMarkdown());
            Console.WriteLine();
            Console.WriteLine($"wrote {md} and {csv}");
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
