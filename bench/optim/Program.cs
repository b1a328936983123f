// C# side of bench/optim/run.sh: one optimizer step over a parameter list shaped like SegFormer-B0 (3.7 M parameters in
// ~180 tensors, built by the same loops as bench_optim.py). Prints "<name> <median ms per step>".
using System.Diagnostics;
using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

var repeats = args.Length > 0 ? int.Parse(args[0]) : 30;
manual_seed(0);

static List<long[]> SegFormerB0Shapes()
{
    var s = new List<long[]>();
    long[] dims = { 32, 64, 160, 256 }, srs = { 8, 4, 2, 1 }, ks = { 7, 3, 3, 3 };
    long prev = 3;
    for (int i = 0; i < 4; i++)
    {
        long d = dims[i];
        s.Add(new[] { d, prev, ks[i], ks[i] }); s.Add(new[] { d }); s.Add(new[] { d }); s.Add(new[] { d }); // patch embedding + norm
        for (int b = 0; b < 2; b++)
        {
            s.Add(new[] { d }); s.Add(new[] { d });                                  // layer_norm_1
            s.Add(new[] { d, d }); s.Add(new[] { d });                               // query
            s.Add(new[] { d, d }); s.Add(new[] { d });                               // key
            s.Add(new[] { d, d }); s.Add(new[] { d });                               // value
            if (srs[i] > 1) { s.Add(new[] { d, d, srs[i], srs[i] }); s.Add(new[] { d }); s.Add(new[] { d }); s.Add(new[] { d }); }
            s.Add(new[] { d, d }); s.Add(new[] { d });                               // output dense
            s.Add(new[] { d }); s.Add(new[] { d });                                  // layer_norm_2
            s.Add(new[] { 4 * d, d }); s.Add(new[] { 4 * d });                       // dense1
            s.Add(new[] { 4 * d, 1, 3, 3 }); s.Add(new[] { 4 * d });                 // depthwise conv
            s.Add(new[] { d, 4 * d }); s.Add(new[] { d });                           // dense2
        }
        s.Add(new[] { d }); s.Add(new[] { d });                                      // stage norm
        prev = d;
    }
    foreach (var d in dims) { s.Add(new[] { 256L, d }); s.Add(new[] { 256L }); } // decode head MLPs
    s.Add(new[] { 256L, 1024, 1, 1 }); s.Add(new[] { 256L }); s.Add(new[] { 256L }); // fuse + batch norm
    s.Add(new[] { 150L, 256, 1, 1 }); s.Add(new[] { 150L });                     // classifier
    return s;
}

static double Median(List<double> v) { v.Sort(); return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2; }

var shapes = SegFormerB0Shapes();
var ps = shapes.Select(sh => { using var t = randn(sh); var p = new nn.Parameter(t); using var g = randn(sh); p.grad = g; return p; }).ToList();
Console.Error.WriteLine($"tensors {ps.Count} parameters {ps.Sum(p => p.numel())}");

double TimeSteps(optim.Optimizer opt)
{
    for (int i = 0; i < 5; i++) opt.step();
    var samples = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        var sw = Stopwatch.StartNew();
        opt.step();
        samples.Add(sw.Elapsed.TotalMilliseconds);
    }
    return Median(samples);
}

var decay = ps.Where(p => p.dim() > 1).Cast<Tensor>().ToList();
var noDecay = ps.Where(p => p.dim() <= 1).Cast<Tensor>().ToList();
using (var adamw = optim.AdamW(new[] { new optim.ParamGroup(decay), new optim.ParamGroup(noDecay, weight_decay: 0) }, lr: 6e-5, weight_decay: 0.01))
    Console.WriteLine($"adamw_step {TimeSteps(adamw):F4}");
using (var sgd = optim.SGD(ps, lr: 0.01, momentum: 0.9, weight_decay: 1e-4))
    Console.WriteLine($"sgd_momentum_step {TimeSteps(sgd):F4}");
foreach (var p in ps) p.Dispose();
