using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using BoostFormer.Models;
using BoostFormer.Profiling;

namespace BoostFormer.Cli.Commands;

/// <summary><c>boostformer bench</c>: forward-pass latency (median, min, max) of a model on the CPU.</summary>
public sealed class BenchCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model name: segformer-b0..b5, boostformer-b0..b5.", DefaultValueFactory = _ => "segformer-b0" };
        var input = new Option<string>("--input") { Description = "Input size HxW.", DefaultValueFactory = _ => "512x512" };
        var classes = new Option<int>("--classes") { Description = "Number of classes.", DefaultValueFactory = _ => 150 };
        var threads = new Option<int?>("--threads") { Description = "libtorch intra-op threads (default: BOOSTFORMER_THREADS or all cores)." };
        var warmup = new Option<int>("--warmup") { Description = "Untimed warm-up forwards.", DefaultValueFactory = _ => 3 };
        var runs = new Option<int>("--runs") { Description = "Timed forwards.", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print JSON (median_ms, min_ms, max_ms, mean_ms, runs_ms, threads, path, precision, peak_bytes, peak_rss_bytes)." };
        var noSdpa = new Option<bool>("--no-sdpa") { Description = "Attention as matmul + softmax + matmul instead of LibTorch's fused scaled_dot_product_attention." };
        var noFused = new Option<bool>("--no-fused-decoder") { Description = "Run the decoder as written (upsample, concatenate, 1x1 fuse) instead of the folded projection." };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 (weights and activations in bfloat16).", DefaultValueFactory = _ => "fp32" };
        var noChannelsLast = new Option<bool>("--no-channels-last") { Description = "Copy the maps to NCHW at every BatchNorm as the Hugging Face graph does, instead of keeping them channels-last." };
        var naive = new Option<bool>("--naive") { Description = "The Hugging Face graph as written: --no-sdpa, --no-fused-decoder and --no-channels-last." };
        var profile = new Option<int>("--profile") { Description = "After timing, time every module (forward hooks; TorchSharp has no autograd profiler) and print the N module types with the most self time, with their MACs and GMAC/s, to stderr.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("bench", "Measure forward latency (inference mode, batch 1) after warm-up.")
        {
            model, input, classes, threads, warmup, runs, json, noSdpa, noFused, noChannelsLast, naive, precision, profile,
        };
        cmd.SetAction(parse => ExitCodes.Run(() =>
        {
            var size = InputSize.Parse(parse.GetValue(input)!);
            var prec = CliOptions.WarnIfEmulated(PrecisionExtensions.Parse(parse.GetValue(precision)!));
            var name = parse.GetValue(model)!;
            var config = SegformerConfig.FromName(name, parse.GetValue(classes));
            bool sdpa = !(parse.GetValue(noSdpa) || parse.GetValue(naive)), fused = !(parse.GetValue(noFused) || parse.GetValue(naive));
            bool channelsLast = !(parse.GetValue(noChannelsLast) || parse.GetValue(naive));
            var on = new[] { (sdpa, "sdpa"), (fused, "fused-decoder"), (channelsLast, "channels-last") }.Where(o => o.Item1).Select(o => o.Item2).ToList();
            var path = on.Count == 3 ? "optimized" : on.Count == 0 ? "naive" : string.Join("+", on);
            var r = SegformerProfiling.Bench(config, size, parse.GetValue(warmup), parse.GetValue(runs), parse.GetValue(threads), sdpa, fused, prec, channelsLast);
            var inv = CultureInfo.InvariantCulture;
            if (parse.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["model"] = name,
                    ["path"] = path,
                    ["precision"] = prec.Name(),
                    ["cpu_native_bf16"] = CpuFeatures.Current.NativeBf16,
                    ["input"] = new JsonArray(size.Shape().Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                    ["threads"] = r.Threads,
                    ["warmup"] = r.Warmup,
                    ["runs"] = r.RunsMs.Count,
                    ["median_ms"] = Math.Round(r.MedianMs, 3),
                    ["min_ms"] = Math.Round(r.MinMs, 3),
                    ["max_ms"] = Math.Round(r.MaxMs, 3),
                    ["mean_ms"] = Math.Round(r.MeanMs, 3),
                    ["peak_bytes"] = r.PeakBytes,
                    ["peak_rss_bytes"] = r.PeakRssBytes,
                    ["runs_ms"] = new JsonArray(r.RunsMs.Select(v => (JsonNode?)JsonValue.Create(Math.Round(v, 3))).ToArray()),
                };
                Console.WriteLine(o.ToJsonString());
            }
            else
            {
                Console.WriteLine($"{name} {size} ({path}, {prec.Name()}) threads={r.Threads}: median {r.MedianMs.ToString("F1", inv)} ms, " +
                                  $"min {r.MinMs.ToString("F1", inv)}, max {r.MaxMs.ToString("F1", inv)} ({r.RunsMs.Count} runs after {r.Warmup} warm-up)" +
                                  (r.PeakBytes >= 0 ? $", peak memory +{r.PeakBytes / 1048576.0:F1} MiB (RSS {r.PeakRssBytes / 1048576.0:F1} MiB)" : ""));
            }
            if (parse.GetValue(profile) is > 0 and var top)
            {
                var times = SegformerProfiling.ModuleTimes(config, size, Math.Min(2, parse.GetValue(warmup)), Math.Max(1, Math.Min(5, parse.GetValue(runs))), parse.GetValue(threads),
                    sdpa, fused, prec, $"{name} {size} ({path}, {prec.Name()})", channelsLast);
                foreach (var line in times.Lines(top)) Console.Error.WriteLine(line);
            }
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
