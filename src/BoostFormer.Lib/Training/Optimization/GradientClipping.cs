using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>Gradient clipping (PyTorch's <c>torch.nn.utils.clip_grad_norm_</c>).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> in place so that their global norm (the norm of the vector of
    /// per-parameter norms) is at most <paramref name="maxNorm"/>: each gradient is multiplied by
    /// <c>min(1, maxNorm / (total + 1e-6))</c>. Returns the total norm before clipping. <paramref name="normType"/> may be
    /// any p ≥ 1 or <see cref="double.PositiveInfinity"/>.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2.0)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max norm must be positive");
        using var ng = no_grad();
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Cast<Tensor>().ToList();
        if (grads.Count == 0) return 0.0;
        Tensor total;
        if (double.IsPositiveInfinity(normType))
            total = stack(grads.Select(g => g.abs().max()).ToList()).max();
        else
        {
            using var p = Scalars.Temporary(normType);
            using var inverse = Scalars.Temporary(1.0 / normType);
            var norms = grads.Select(g => normType == 2.0 ? g.norm() : g.abs().pow(p).sum().pow(inverse)).ToList();
            var st = stack(norms);
            total = normType == 2.0 ? st.norm() : st.abs().pow(p).sum().pow(inverse);
        }
        if (total.dtype == ScalarType.Float64)
        {
            // fp64 runs: the same computation in double.
            var norm64 = total.item<double>();
            using var coef64 = Scalars.Temporary(Math.Min(maxNorm / (norm64 + 1e-6), 1.0));
            foreach (var g in grads) g.mul_(coef64);
            return norm64;
        }
        var totalNorm = total.item<float>();
        // As PyTorch: the coefficient is a float32 computation, clamped at 1.
        var coef = Math.Min((float)maxNorm / (totalNorm + 1e-6f), 1.0f);
        using var coefS = Scalars.Temporary(coef);
        foreach (var g in grads) g.mul_(coefS);
        return totalNorm;
    }
}
