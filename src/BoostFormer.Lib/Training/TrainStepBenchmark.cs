using System.Diagnostics;
using BoostFormer.Models;
using TorchSharp;
using BoostFormer.Training.Optimization;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>Timing of training steps (milliseconds per step after warm-up).</summary>
public sealed record TrainStepTiming(string Model, long[] Input, int Threads, double MedianMs, double MinMs, double MaxMs, int Runs, double Loss);

/// <summary>
/// Times one SegFormer training step as in <c>bench/train-step/train_step_ref.py</c>: forward on a random batch, cross-entropy
/// of the logits upsampled to the label size (ignore 255), backward, AdamW (lr 6e-5, wd 0.01, one group), zero_grad.
/// Drop path is 0, as in the reference model.
/// </summary>
public static class TrainStepBenchmark
{
    /// <summary>
    /// Runs <paramref name="warmup"/> + <paramref name="runs"/> steps and reports the timed ones. <paramref name="sdpa"/> false
    /// computes attention as matmul + softmax + matmul (the naive port of the HF graph). <paramref name="precision"/> bf16
    /// times bf16 mixed precision as training runs it (<see cref="MasterWeights"/>: forward and backward in bf16, loss and the
    /// AdamW step on fp32 masters, the masters copied back).
    /// </summary>
    public static TrainStepTiming Run(string model, int height, int width, int batch, int classes = 150, int warmup = 2, int runs = 5, bool sdpa = true,
        Precision precision = Precision.Fp32)
    {
        manual_seed(0);
        using var net = new SegformerForSemanticSegmentation(SegformerConfig.FromName(model, classes) with { drop_path_rate = 0 }).SetOptimizations(sdpa, fusedDecoder: false);
        net.train();
        var named = net.named_parameters().ToList();
        using var masters = precision == Precision.Bf16 ? MasterWeights.CastToBf16(new List<(string, nn.Module)> { ("", net) }) : null;
        if (masters is not null) named = masters.Masters.ToList();
        using var opt = TrainingOptimizer.AdamW(new[] { new NamedParamGroup("all", named, 6e-5, 0.01) });
        using var x = randn(batch, 3, height, width).to_type(precision.ScalarType());
        using var y = randint(0, classes, new long[] { batch, height, width });
        var times = new List<double>();
        double loss = 0;
        void Step()
        {
            using var scope = NewDisposeScope();
            var logits = net.call(x).to_type(ScalarType.Float32);
            var l = SegformerLoss.SemanticLoss(logits, y);
            l.backward();
            masters?.GradientsToMasters();
            opt.Step();
            masters?.MastersToModel();
            opt.ZeroGrad();
            loss = l.item<float>();
        }
        for (int i = 0; i < warmup + runs; i++)
        {
            var sw = Stopwatch.StartNew();
            Step();
            sw.Stop();
            if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        var median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        return new TrainStepTiming(model, new long[] { batch, 3, height, width }, get_num_threads(), median, times[0], times[^1], runs, loss);
    }
}
