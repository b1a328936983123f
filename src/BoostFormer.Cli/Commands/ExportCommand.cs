using System.CommandLine;
using System.Globalization;
using BoostFormer.Training;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer export</c>: a training checkpoint as shippable weights (<see cref="WeightsExport"/>):
/// <c>results/weights/&lt;run&gt;.safetensors</c> (model weights only, bf16 by default, configuration and provenance in the
/// header) and <c>&lt;run&gt;.config.json</c> (Hugging Face's for SegFormer, the workbook's for BoostFormer).
/// </summary>
public sealed class ExportCommand : ICliCommand
{
    public Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Training checkpoint (.safetensors, e.g. <run>/run-<id>/best.safetensors)", Required = true };
        var output = new Option<string>("--output") { Description = "Weights file to write: results/weights/<run>.safetensors (<run>.config.json is written beside it)", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Precision of the floating tensors: bf16, fp16 or fp32", DefaultValueFactory = _ => "bf16" };
        var name = new Option<string?>("--name") { Description = "Run name recorded in the file (default: the output's file name)" };
        var dataset = new Option<string>("--dataset") { Description = "Dataset whose class names are recorded (its class count must be the model's)", DefaultValueFactory = _ => "camvid" };
        var db = new Option<string?>("--db") { Description = "The run's tracking database: records the run's iterations, wall minutes, images/s and last/best val mIoU too" };
        var force = new Option<bool>("--force") { Description = "Replace an output that holds another run's weights (or is not an exported file)" };
        var cmd = new Command("export", "Export a training checkpoint's model weights (bf16/fp16/fp32 safetensors + config.json) for shipping.")
        {
            checkpoint, output, dtype, name, dataset, db, force,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var type = WeightsExport.ParseDType(pr.GetValue(dtype)!);
            CliOptions.WritableFile(pr.GetValue(output)!, "--output");
            var r = WeightsExport.Export(pr.GetValue(checkpoint)!, pr.GetValue(output)!, type, pr.GetValue(name), pr.GetValue(dataset)!, pr.GetValue(force), pr.GetValue(db));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.WeightsPath}: {r.Model.Name} ({r.Run}), {r.Tensors} tensors, {r.Bytes / 1e6:F2} MB"));
            Console.WriteLine($"{r.ConfigPath}: {(r.HuggingFaceConfig ? "Hugging Face SegformerConfig (model_type segformer)" : "workbook configuration (not loadable by transformers)")}");
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
