using BoostFormer.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Training.Distributed;

/// <summary>
/// Synchronised BatchNorm (PyTorch's <c>nn.SyncBatchNorm</c>) for data-parallel training: in training mode every
/// <see cref="BatchNorm2d"/> that runs through <see cref="SegformerLayout.BatchNorm"/> (the decode head's, the auxiliary
/// head's, BoostFormer's MixCFN and PoolFormer norms) normalises with the mean and variance of the whole global batch —
/// the per-channel sums are all-reduced in forward, and the two sums its input gradient needs in backward — so N ranks
/// compute what one process computes on the global batch, running statistics included. Evaluation mode is untouched.
/// Active on the current thread inside <see cref="Enable"/>.
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>Routes training-mode BatchNorm on this thread through the group until the result is disposed.</summary>
    public static IDisposable Enable(IDataParallel group)
    {
        var previous = SegformerLayout.TrainingBatchNormOverride;
        SegformerLayout.TrainingBatchNormOverride = (norm, x) => Forward(group, norm, x);
        return new Restore(() => SegformerLayout.TrainingBatchNormOverride = previous);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>Training-mode BatchNorm of <paramref name="x"/> [N, C, H, W] with statistics over every rank's batch; updates the running statistics.</summary>
    public static Tensor Forward(IDataParallel group, BatchNorm2d norm, Tensor x)
    {
        var weight = norm.weight ?? throw new NotSupportedException("synchronised BatchNorm needs an affine BatchNorm2d");
        var bias = norm.bias ?? throw new NotSupportedException("synchronised BatchNorm needs an affine BatchNorm2d");
        return SyncBatchNormFunction.apply(x.contiguous(), weight, bias, group, norm);
    }

    /// <summary>The autograd function: forward with global statistics, backward with globally reduced sums.</summary>
    internal sealed class SyncBatchNormFunction : autograd.SingleTensorFunction<SyncBatchNormFunction>
    {
        public override string Name => "SyncBatchNorm";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var bias = (Tensor)vars[2];
            var group = (IDataParallel)vars[3];
            var norm = (BatchNorm2d)vars[4];
            var c = x.shape[1];
            var count = x.numel() / c;
            // One all-reduce of [Σx, Σx², n] per channel, in float64 (no cancellation in E[x²] − E[x]²).
            var dims = new long[] { 0, 2, 3 };
            using var x64 = x.to_type(ScalarType.Float64);
            using var s1 = x64.sum(dims);
            using var sq = x64.mul(x64);   // not square(): TorchSharp makes pow(2)'s exponent an unrooted Scalar
            using var s2 = sq.sum(dims);
            using var countS = Scalars.Temporary(count);
            using var n = full(new long[] { 1 }, countS, ScalarType.Float64);
            using var stats = cat(new[] { s1, s2, n }, 0);
            group.AllReduceSum(stats);
            var total = stats[2 * c].item<double>();
            using var totalS = Scalars.Temporary(total);
            using var mean64 = stats.narrow(0, 0, c).div(totalS);
            using var ex2 = stats.narrow(0, c, c).div(totalS);
            using var msq = mean64.mul(mean64);
            using var var64 = (ex2 - msq).clamp_min(Scalars.Zero);
            var eps = norm.eps;
            if (norm.running_mean is { } rm && norm.running_var is { } rv)
            {
                // PyTorch: momentum null = cumulative moving average (factor 1 / batches tracked).
                var momentum = norm.momentum ?? 1.0 / ((norm.num_batches_tracked?.item<long>() ?? 0) + 1);
                using var bessel = Scalars.Temporary(total / Math.Max(1, total - 1));
                using var keep = Scalars.Temporary(1 - momentum);
                using var momentumS = Scalars.Temporary(momentum);
                using var unbiased = var64.mul(bessel);
                using var m32 = mean64.to_type(rm.dtype);
                using var v32 = unbiased.to_type(rv.dtype);
                rm.mul_(keep).add_(m32, momentumS);
                rv.mul_(keep).add_(v32, momentumS);
                norm.num_batches_tracked?.add_(Scalars.OfInt(1), Scalars.OfInt(1));
            }
            var mean = mean64.to_type(x.dtype);
            using var epsS = Scalars.Temporary(eps);
            using var ve = var64.add(epsS, Scalars.One);
            var invstd = ve.rsqrt().to_type(x.dtype);
            using var m4 = mean.view(1, c, 1, 1);
            using var i4 = invstd.view(1, c, 1, 1);
            using var w4 = weight.view(1, c, 1, 1);
            using var b4 = bias.view(1, c, 1, 1);
            using var centred = x - m4;
            using var xhat = centred * i4;
            using var scaled = xhat * w4;
            ctx.save_for_backward(new List<Tensor> { x, weight, mean, invstd });
            ctx.save_data("group", group);
            ctx.save_data("count", total);
            return scaled.add(b4, Scalars.One);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var saved = ctx.get_saved_variables();
            var (x, weight, mean, invstd) = (saved[0], saved[1], saved[2], saved[3]);
            var group = (IDataParallel)ctx.get_data("group");
            var total = (double)ctx.get_data("count");
            var c = x.shape[1];
            var dims = new long[] { 0, 2, 3 };
            using var g = grad.contiguous();
            using var m4 = mean.view(1, c, 1, 1);
            using var i4 = invstd.view(1, c, 1, 1);
            using var centred = x - m4;
            using var xhat = centred * i4;
            using var gx = g * xhat;
            // Local parameter gradients: the step's gradient all-reduce averages them like every other parameter's.
            var gradBias = g.sum(dims);
            var gradWeight = gx.sum(dims);
            // The input gradient needs the global Σdy and Σdy·x̂.
            using var g64 = gradBias.to_type(ScalarType.Float64);
            using var gx64 = gradWeight.to_type(ScalarType.Float64);
            using var sums = cat(new[] { g64, gx64 }, 0);
            group.AllReduceSum(sums);
            using var totalS = Scalars.Temporary(total);
            using var meanDy = sums.narrow(0, 0, c).div(totalS).to_type(x.dtype).view(1, c, 1, 1);
            using var meanDyXhat = sums.narrow(0, c, c).div(totalS).to_type(x.dtype).view(1, c, 1, 1);
            using var w4 = weight.view(1, c, 1, 1);
            using var scale = w4 * i4;
            using var t1 = g - meanDy;
            using var t2 = xhat * meanDyXhat;
            using var t3 = t1 - t2;
            var gradInput = t3 * scale;
            // One entry per argument of apply: the group and the module get none.
            return new List<Tensor> { gradInput, gradWeight, gradBias, null!, null! };
        }
    }
}
