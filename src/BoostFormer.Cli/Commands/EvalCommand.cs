using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BoostFormer.Data;
using BoostFormer.Training.Evaluation;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer eval</c>: mIoU, mAcc, aAcc and per-class IoU/accuracy of a checkpoint on a dataset split, at the labels'
/// original resolution, whole-image or sliding-window, optionally with multi-scale + flip TTA. A training checkpoint is
/// rebuilt from the model configuration it records; other checkpoints need <c>--model</c> or <c>--config</c>.
/// </summary>
public sealed class EvalCommand : ICliCommand
{
    public Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Training checkpoint (.safetensors) or any SegFormer checkpoint (with --model)", Required = true };
        var model = new Option<string?>("--model") { Description = "Architecture, when the checkpoint does not record it" };
        var config = new Option<string?>("--config") { Description = "Model config.json, when the checkpoint does not record it" };
        var dataset = new Option<string>("--dataset") { Description = Datasets.Names(DatasetKind.Segmentation), DefaultValueFactory = _ => "camvid" };
        var root = new Option<string?>("--root") { Description = "Data root (default: $BOOSTFORMER_DATA)" };
        var split = new Option<string>("--split") { DefaultValueFactory = _ => "val" };
        var tta = new Option<bool>("--tta") { Description = "Multi-scale (0.5–1.75) + flip test-time augmentation" };
        var slide = new Option<string?>("--slide") { Description = "Sliding-window inference CROPxSTRIDE (e.g. 512x341)" };
        var scale = new Option<string?>("--scale") { Description = "Test resize scale LONGxSHORT (default: the dataset's, 2048x512; camvid 480x360)" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate the first N images only" };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 (model and images in bfloat16, logits back in float32)", DefaultValueFactory = _ => "fp32" };
        var json = new Option<bool>("--json") { Description = "Print JSON (model, parameters, miou, macc, aacc, per_class_iou, per_class_acc)" };
        var maxPixels = CliOptions.MaxPixelsOption();
        var cmd = new Command("eval", "Evaluate a segmentation checkpoint: mIoU, mAcc, aAcc, per-class IoU.")
        {
            checkpoint, model, config, dataset, root, split, tta, slide, scale, limit, json, precision, maxPixels,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var ds = pr.GetValue(dataset)!;
            if (pr.GetValue(limit) is { } n) CliOptions.AtLeast(n, 1, "--limit");
            CliOptions.MaxPixels(pr.GetValue(maxPixels));
            var testScale = pr.GetValue(scale) is { } sc ? CliOptions.Pair(sc, "--scale", "LONGxSHORT", minimum: CliOptions.MinimumSize) : ((int, int)?)null;
            InferenceOptions? inf = null;
            if (pr.GetValue(slide) is { } s)
            {
                var (c, st) = CliOptions.Pair(s, "--slide", "CROPxSTRIDE", "512x341");
                CliOptions.AtLeast(c, CliOptions.MinimumSize, "--slide (crop)", "the encoder downsamples by 32");
                inf = new InferenceOptions { Mode = InferenceMode.Slide, Crop = (c, c), Stride = (st, st) };
                if (pr.GetValue(tta)) inf = inf with { Scales = InferenceOptions.MultiScaleFlip().Scales, Flip = true };
            }
            var prec = CliOptions.WarnIfEmulated(PrecisionExtensions.Parse(pr.GetValue(precision)!));
            if (prec != Precision.Fp32)
                inf = (inf ?? (pr.GetValue(tta) ? InferenceOptions.MultiScaleFlip() : new InferenceOptions())) with { Precision = prec };
            var r = CheckpointEvaluation.Evaluate(pr.GetValue(checkpoint)!, ds, pr.GetValue(root), pr.GetValue(split)!, pr.GetValue(tta),
                CliOptions.Model(pr.GetValue(model), pr.GetValue(config)),
                testScale, inf, pr.GetValue(limit));
            var m = r.Metrics;
            static JsonNode? Num(double v) => double.IsNaN(v) ? null : JsonValue.Create(Math.Round(v, 6));
            if (pr.GetValue(json))
            {
                var iou = new JsonObject(); var acc = new JsonObject();
                for (int i = 0; i < m.ClassNames.Count; i++) { iou[m.ClassNames[i]] = Num(m.PerClassIoU[i]); acc[m.ClassNames[i]] = Num(m.PerClassAccuracy[i]); }
                var o = new JsonObject
                {
                    ["checkpoint"] = r.Checkpoint, ["model"] = r.Model, ["parameters"] = r.Parameters, ["dataset"] = ds, ["split"] = pr.GetValue(split),
                    ["images"] = r.Images, ["tta"] = r.Tta, ["precision"] = prec.Name(),
                    ["miou"] = Num(m.MeanIoU), ["macc"] = Num(m.MeanAccuracy), ["aacc"] = Num(m.AllAccuracy), ["per_class_iou"] = iou, ["per_class_acc"] = acc,
                    ["convention"] = "mmseg: confusion matrix over the split at the labels' original size, ignore 255; classes absent from GT and prediction are null and excluded from means",
                };
                Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Model} ({r.Parameters:N0} parameters) on {ds}/{pr.GetValue(split)} ({r.Images} images{(r.Tta ? ", TTA" : "")})"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mIoU {m.MeanIoU * 100:F2}  mAcc {m.MeanAccuracy * 100:F2}  aAcc {m.AllAccuracy * 100:F2}"));
                for (int i = 0; i < m.ClassNames.Count; i++)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {m.ClassNames[i],-14} IoU {m.PerClassIoU[i] * 100,6:F2}  Acc {m.PerClassAccuracy[i] * 100,6:F2}"));
            }
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
