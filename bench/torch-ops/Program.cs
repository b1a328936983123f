// C# side of bench/torch-ops/run.sh: times the same ops as bench_torch.py through the BoostFormer binding and prints
// one line per op: "<name> <median ms>". Thread count comes from BOOSTFORMER_THREADS (set by run.sh for both sides).
using System.Diagnostics;
using BoostFormer.Torch;
using static BoostFormer.Torch.torch;
using F = BoostFormer.Torch.torch.nn.functional;

var repeats = args.Length > 0 ? int.Parse(args[0]) : 30;
manual_seed(0);

static double Median(List<double> v) { v.Sort(); return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2; }

// Median wall time of one call in ms (or the minimum with useMin: per-op overhead, where the minimum filters preemption
// on a shared machine); `inner` calls per sample for very short ops.
static double Time(Func<Tensor> op, int repeats, int warmup = 10, int inner = 1, bool useMin = false)
{
    for (int i = 0; i < warmup; i++) op().Dispose();
    var samples = new List<double>(repeats);
    for (int r = 0; r < repeats; r++)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < inner; i++) op().Dispose();
        samples.Add(sw.Elapsed.TotalMilliseconds / inner);
    }
    return useMin ? samples.Min() : Median(samples);
}

using (inference_mode())
{
    using var a = randn(1024, 1024);
    using var b = randn(1024, 1024);
    using var x64 = randn(1, 64, 128, 128);
    using var w3 = randn(64, 64, 3, 3);
    using var wdw = randn(64, 1, 3, 3);
    using var bias = randn(64);
    using var t = randn(16384, 64);
    using var lw = randn(64);
    using var lb = randn(64);
    using var s = randn(1, 256, 32, 32);
    using var one = randn(1);
    using var two = randn(1);

    var results = new (string name, double ms)[]
    {
        ("matmul_1024", Time(() => a.matmul(b), repeats)),
        ("conv3x3_64ch_128", Time(() => F.conv2d(x64, w3, bias, 1, 1), repeats)),
        ("dwconv3x3_64ch_128", Time(() => F.conv2d(x64, wdw, bias, 1, 1, 1, 64), repeats)),
        ("layer_norm_16384x64", Time(() => F.layer_norm(t, new long[] { 64 }, lw, lb), repeats)),
        ("bilinear_256ch_32to128", Time(() => F.interpolate(s, new long[] { 128, 128 }, mode: InterpolationMode.Bilinear, align_corners: false), repeats)),
        ("add_1elem_us", 1000 * Time(() => one.add(two), repeats, warmup: 5000, inner: 2000, useMin: true)),
    };
    foreach (var (name, ms) in results) Console.WriteLine($"{name} {ms:F4}");
}
