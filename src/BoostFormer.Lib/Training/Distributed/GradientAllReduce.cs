using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Distributed;

/// <summary>
/// Averages gradients over the ranks once per step, as PyTorch's DistributedDataParallel does: every parameter's gradient
/// is copied into one flat buffer (float32, or float64 when every gradient is float64 — fp64 runs), the buffer is summed over the ranks by one all-reduce and divided by the world
/// size, and the slices are copied back. It runs after backward and before gradient clipping and the optimizer step, so
/// clipping sees the averaged gradient and every rank applies the same update. Parameters without a gradient are skipped
/// (the ranks run the same graph, so the same ones are missing everywhere). Also keeps the time spent per step.
/// </summary>
public sealed class GradientAllReduce
{
    private readonly IDataParallel _group;
    private readonly Stopwatch _reduce = new(), _wait = new();

    /// <summary>Wraps a process group.</summary>
    public GradientAllReduce(IDataParallel group) { _group = group; }

    /// <summary>Steps averaged so far.</summary>
    public long Steps { get; private set; }
    /// <summary>Time spent in the all-reduce itself (flatten, reduce, copy back), summed over the steps.</summary>
    public TimeSpan ReduceTime => _reduce.Elapsed;
    /// <summary>Time spent waiting for the other ranks before the all-reduce, summed over the steps.</summary>
    public TimeSpan WaitTime => _wait.Elapsed;
    /// <summary>Gradient elements reduced per step (the last step's).</summary>
    public long Elements { get; private set; }
    /// <summary>Bytes per reduced element (4, or 8 in fp64 runs).</summary>
    public int ElementBytes { get; private set; } = 4;

    /// <summary>Replaces every parameter's gradient by its mean over the ranks.</summary>
    public void Average(IReadOnlyList<Tensor> parameters)
    {
        var grads = parameters.Select(p => p.grad).Where(g => g is not null && g.numel() > 0).Select(g => g!).ToList();
        _wait.Start();
        _group.Barrier();
        _wait.Stop();
        _reduce.Start();
        using (NewDisposeScope())
        using (no_grad())
        {
            var type = grads.Count > 0 && grads.All(g => g.dtype == ScalarType.Float64) ? ScalarType.Float64 : ScalarType.Float32;
            var flat = grads.Count == 0 ? zeros(0) : cat(grads.Select(g => g.detach().reshape(-1).to_type(type)).ToList(), 0);
            Elements = flat.numel();
            ElementBytes = type == ScalarType.Float64 ? 8 : 4;
            _group.AllReduceSum(flat);
            flat.div_(Scalars.Of(_group.WorldSize));
            long offset = 0;
            foreach (var g in grads)
            {
                var n = g.numel();
                g.copy_(flat.narrow(0, offset, n).view(g.shape));
                offset += n;
            }
        }
        _reduce.Stop();
        Steps++;
    }

    /// <summary>Copies rank 0's values of <paramref name="tensors"/> (parameters and buffers) to every rank.</summary>
    public static void BroadcastFromRoot(IDataParallel group, IEnumerable<Tensor> tensors)
    {
        using var _ = NewDisposeScope();
        using var __ = no_grad();
        foreach (var t in tensors)
        {
            if (!t.is_floating_point()) continue;
            var buf = t.detach().to_type(ScalarType.Float64).contiguous().clone();
            group.Broadcast(buf);
            t.copy_(buf);
        }
    }

    /// <summary>A line for logs: all-reduce and wait milliseconds per step and the megabytes reduced per step.</summary>
    public string Summary() => Steps == 0 ? "all-reduce: no steps" : FormattableString.Invariant(
        $"all-reduce: {ReduceTime.TotalMilliseconds / Steps:F1} ms/step ({Elements * ElementBytes / 1e6:F1} MB of gradients, {_group.WorldSize} ranks), waiting for other ranks {WaitTime.TotalMilliseconds / Steps:F1} ms/step, {Steps} steps");
}
