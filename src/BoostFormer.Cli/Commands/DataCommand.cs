using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BoostFormer.Data;
using BoostFormer.IO;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer data</c>: <c>stats</c> (exact per-class pixel counts and class weights of a split), <c>prepare</c>
/// (install a dataset from its official archive or a local folder and verify it), <c>check</c> (verify an installed
/// dataset) and <c>bench</c> (loader throughput).
/// </summary>
public sealed class DataCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("data", "Datasets: statistics, preparation, verification and loader benchmark.");
        cmd.Subcommands.Add(Stats());
        cmd.Subcommands.Add(Prepare());
        cmd.Subcommands.Add(Check());
        cmd.Subcommands.Add(Bench());
        return cmd;
    }

    private static string Preparable => Datasets.Names(filter: d => d.NeedsRoot);

    private static Option<string?> RootOption() => new("--root") { Description = $"Data root or dataset folder (default: ${DataRoot.EnvironmentVariable})" };

    private static Command Stats()
    {
        var dataset = new Option<string>("--dataset") { Description = Datasets.Names(DatasetKind.Segmentation), DefaultValueFactory = _ => "camvid" };
        var root = RootOption();
        var split = new Option<string>("--split") { Description = "Split name (train, val, ...)", DefaultValueFactory = _ => "val" };
        var json = new Option<bool>("--json") { Description = "Print JSON (fields images, pixel_counts keyed by class index, class_weights, ...)" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "Skip unreadable or invalid samples and count them instead of failing" };
        var cmd = new Command("stats", "Image count, exact per-class pixel counts and median-frequency class weights of a segmentation split.")
        {
            dataset, root, split, json, skipBad,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var name = pr.GetValue(dataset)!;
            var ds = Datasets.OpenSegmentation(name, pr.GetValue(root), pr.GetValue(split)!);
            var st = DatasetStats.Compute(ds, pr.GetValue(split)!, pr.GetValue(skipBad));
            var w = st.MedianFrequencyWeights();
            if (pr.GetValue(json))
            {
                var counts = new JsonObject();
                var weights = new JsonObject();
                for (int c = 0; c < st.PixelCounts.Length; c++)
                {
                    counts[c.ToString(CultureInfo.InvariantCulture)] = st.PixelCounts[c];
                    weights[c.ToString(CultureInfo.InvariantCulture)] = Math.Round(w[c], 6);
                }
                var o = new JsonObject
                {
                    ["dataset"] = st.Dataset,
                    ["split"] = st.Split,
                    ["images"] = st.Images,
                    ["classes"] = new JsonArray(ds.Info.ClassNames.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
                    ["pixel_counts"] = counts,
                    ["ignored_pixels"] = st.IgnoredPixels,
                    ["total_pixels"] = st.TotalPixels,
                    ["class_weights"] = weights,
                    ["class_weighting"] = "median frequency balancing: freq(c) = pixels(c) / pixels of images containing c; weight(c) = median(freq) / freq(c)",
                    ["skipped"] = new JsonArray(st.Skipped.Select(s => (JsonNode)new JsonObject { ["path"] = s.Path, ["reason"] = s.Reason }).ToArray()),
                };
                Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Console.WriteLine($"{st.Dataset} {st.Split}: {st.Images} images, {st.TotalPixels} pixels, {st.IgnoredPixels} ignored");
                if (st.Skipped.Count > 0) Console.WriteLine($"skipped {st.Skipped.Count} bad samples: {string.Join("; ", st.Skipped.Select(s => s.Path))}");
                Console.WriteLine($"{"class",5}  {"name",-20} {"pixels",12} {"share",8} {"weight",8}");
                for (int c = 0; c < st.PixelCounts.Length; c++)
                    Console.WriteLine($"{c,5}  {ds.Info.ClassNames[c],-20} {st.PixelCounts[c],12} {(double)st.PixelCounts[c] / Math.Max(1, st.TotalPixels),8:P2} {w[c],8:F4}");
                Console.WriteLine("weights: median frequency balancing, weight(c) = median(freq) / freq(c), freq(c) = pixels(c) / pixels of images containing c");
            }
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static Command Prepare()
    {
        var dataset = new Option<string>("--dataset") { Description = Preparable, Required = true };
        var root = RootOption();
        var from = new Option<string?>("--from") { Description = "Local folder (or .zip) holding the dataset; without it the official archive is downloaded" };
        var force = new Option<bool>("--force") { Description = "Reinstall even if the target folder exists" };
        var decode = new Option<bool>("--decode") { Description = "Also decode every image and label to verify them" };
        var cmd = new Command("prepare", "Install a dataset under the data root from its official archive or --from a local copy, then verify structure and counts.")
        {
            dataset, root, from, force, decode,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var r = DataRoot.Resolve(pr.GetValue(root)) ?? throw new ArgumentException($"no data root: pass --root or set {DataRoot.EnvironmentVariable}");
            var name = pr.GetValue(dataset)!;
            var folder = DatasetPreparer.Prepare(name, r, pr.GetValue(from), pr.GetValue(force), Console.Out);
            var checks = DatasetPreparer.Verify(name, folder, pr.GetValue(decode), Console.Out);
            Console.WriteLine(checks.All(c => c.Complete) ? $"{name}: complete at {folder}" : $"{name}: installed at {folder} (not every split is complete: see above)");
            return checks.Any(c => c.Found > 0) ? ExitCodes.Success : ExitCodes.Fail($"{name}: no split has samples in {folder}", ExitCodes.Usage);
        }));
        return cmd;
    }

    private static Command Check()
    {
        var dataset = new Option<string>("--dataset") { Description = Preparable, Required = true };
        var root = RootOption();
        var decode = new Option<bool>("--decode") { Description = "Decode every image and label" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "Report unreadable samples and continue" };
        var cmd = new Command("check", "Verify an installed dataset's structure and counts (and with --decode every file).") { dataset, root, decode, skipBad };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var r = DataRoot.Resolve(pr.GetValue(root)) ?? throw new ArgumentException($"no data root: pass --root or set {DataRoot.EnvironmentVariable}");
            var checks = DatasetPreparer.Verify(pr.GetValue(dataset)!, r, pr.GetValue(decode), Console.Out, pr.GetValue(skipBad));
            if (checks.Sum(c => c.Bad) is var bad and > 0)
                return ExitCodes.Fail($"{bad} sample(s) under {r} are unreadable (listed above as skipped)", ExitCodes.Usage);
            return checks.Any(c => c.Found > 0) ? ExitCodes.Success : ExitCodes.Fail($"no split has samples under {r}", ExitCodes.Usage);
        }));
        return cmd;
    }

    private static Command Bench()
    {
        var root = RootOption();
        var which = new Option<string>("--dataset") { Description = "camvid, tiny-imagenet, synthetic or all", DefaultValueFactory = _ => "all" };
        var batches = new Option<int>("--batches") { Description = "Batches to time (after 2 warm-up batches)", DefaultValueFactory = _ => 20 };
        var workers = new Option<int>("--workers") { Description = "Loader worker threads", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var cmd = new Command("bench", "Loader throughput (images/s): CamVid 512x512 training crops (batch 8) and Tiny-ImageNet 64x64 (batch 128).")
        {
            root, which, batches, workers,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var r = DataRoot.Resolve(pr.GetValue(root));
            var w = pr.GetValue(which)!;
            int n = pr.GetValue(batches), wk = pr.GetValue(workers);
            using (TorchSharp.torch.zeros(1)) { } // initialises the engine (and its thread count) before reporting it
            Console.WriteLine($"loader benchmark: {wk} workers, {Environment.ProcessorCount} cores, libtorch threads {TorchSharp.torch.get_num_threads()}");
            if (w is "camvid" or "all")
            {
                if (r is null) Console.WriteLine("camvid: skipped (no data root)");
                else
                {
                    var cam = Datasets.CamVid.OpenSegmentation(r, "train");
                    StageProfile(cam, 16);
                    RunSeg("camvid 512x512 train crops", cam, n, wk);
                }
            }
            if (w is "synthetic" or "all")
                RunSeg("synthetic 512x512 train crops", new SyntheticSceneDataset(19, 512, 360, 480), n, wk);
            if (w is "tiny-imagenet" or "all")
            {
                if (r is null) Console.WriteLine("tiny-imagenet: skipped (no data root)");
                else
                {
                    var ds = Datasets.TinyImageNet.OpenClassification(r, "train");
                    var loader = Loaders.Classification(ds, new ClsTransform { Size = 64 }, new MixupCutmix(),
                        new LoaderOptions { BatchSize = 128, Workers = wk, Prefetch = 4, Seed = 1 });
                    Time("tiny-imagenet 64x64 train (crop/flip/jitter/erase + mixup/cutmix)", loader, n, 128);
                }
            }
            return ExitCodes.Success;
        }));
        return cmd;
    }

    /// <summary>Single-threaded time per pipeline stage (ms/sample) on the first samples of a dataset.</summary>
    private static void StageProfile(ISegmentationDataset ds, int samples)
    {
        var names = new[] { "read+decode", "resize", "crop", "flip", "photometric", "pad", "normalize" };
        var pipe = SegPipeline.Train(512, 512);
        var t = new double[names.Length];
        var sw = new Stopwatch();
        var chw = new float[3 * 512 * 512];
        var profiler = new Thread(() => Run()) { Name = "stage profile" };
        profiler.Start();
        profiler.Join();
        Console.WriteLine("per-sample stage times (1 thread, ms): " + string.Join(", ", names.Select((nm, k) => $"{nm} {t[k]:F1}")) + $"; total {t.Sum():F1}");

        void Run()
        {
        BoostFormer.IO.ImageCodec.SetThreadLocalNumThreads(1);
        for (int i = 0; i < samples + 2; i++)
        {
            var rng = DataRng.ForSample(0, 0, i);
            var times = new double[names.Length];
            sw.Restart();
            var s = ds.Get(i % ds.Count);
            times[0] = sw.Elapsed.TotalMilliseconds;
            var img = s.Image; var lbl = s.Label;
            for (int k = 0; k < pipe.Steps.Count; k++)
            {
                sw.Restart();
                pipe.Steps[k].Apply(ref img, ref lbl, rng);
                times[k + 1] = sw.Elapsed.TotalMilliseconds;
            }
            sw.Restart();
            ImageOps.NormalizeToChw(img, chw, pipe.Mean, pipe.Std);
            times[^1] = sw.Elapsed.TotalMilliseconds;
            if (i >= 2) for (int k = 0; k < t.Length; k++) t[k] += times[k] / samples;
        }
        }
    }

    private static void RunSeg(string label, ISegmentationDataset ds, int n, int workers)
    {
        var loader = Loaders.Segmentation(ds, SegPipeline.Train(512, 512), new LoaderOptions { BatchSize = 8, Workers = workers, Prefetch = 4, Seed = 1 });
        Time(label, loader, n, 8);
    }

    private static void Time<T>(string label, DataLoader<T> loader, int n, int batchSize) where T : class, IDisposable
    {
        int epoch = 0, seen = 0, warm = 2;
        var sw = new Stopwatch();
        while (seen < n + warm)
        {
            foreach (var b in loader.Epoch(epoch))
            {
                b.Dispose();
                seen++;
                if (seen == warm) sw.Start();
                if (seen >= n + warm) break;
            }
            epoch++;
        }
        sw.Stop();
        double ips = n * batchSize / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{label}: {ips:F1} images/s ({n} batches of {batchSize} in {sw.Elapsed.TotalSeconds:F2} s, {1000 * sw.Elapsed.TotalSeconds / n:F1} ms/batch)");
    }
}
