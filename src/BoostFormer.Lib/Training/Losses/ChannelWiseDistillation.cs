using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BoostFormer.Training.Losses;

/// <summary>
/// Settings of channel-wise distillation (<see cref="ChannelWiseDistillation"/>): temperature τ and loss weight λ. The
/// official setting (TorchDistiller <c>exp_cwd.sh channel kl 3 4</c>) is λ = 3, τ = 4; mmrazor's CWD config uses τ = 1,
/// λ = 5.
/// </summary>
public sealed record DistillationOptions(double Tau = 4.0, double Weight = 3.0)
{
    /// <summary>Throws one clear exception if an option is out of range.</summary>
    public void Validate()
    {
        if (!(Tau > 0) || double.IsInfinity(Tau)) throw new ArgumentOutOfRangeException(nameof(Tau), Tau, "the distillation temperature must be positive");
        if (!(Weight >= 0) || double.IsInfinity(Weight)) throw new ArgumentOutOfRangeException(nameof(Weight), Weight, "the distillation weight must be non-negative");
    }
}

/// <summary>
/// Channel-wise distillation (Shu et al., arXiv 2011.13256; mmrazor <c>ChannelWiseDivergence</c>, TorchDistiller
/// <c>CriterionCWD</c>): each channel of the student's and the teacher's logits [N, C, H, W] becomes a distribution over the
/// H·W positions, φ(y)_{n,c} = softmax(y_{n,c,:}/τ); the loss is λ·τ²/(N·C)·Σ_{n,c} KL(φ_T ‖ φ_S). The teacher is detached;
/// its logits are resized bilinearly to the student's size when they differ.
/// </summary>
public static class ChannelWiseDistillation
{
    /// <summary>The CWD loss of <paramref name="student"/> against <paramref name="teacher"/> (a scalar with gradient to the student only).</summary>
    public static Tensor Loss(Tensor student, Tensor teacher, DistillationOptions options)
    {
        options.Validate();
        if (student.dim() != 4 || teacher.dim() != 4) throw new ArgumentException($"CWD takes logits [N, C, H, W]: student [{string.Join(", ", student.shape)}], teacher [{string.Join(", ", teacher.shape)}]");
        if (student.shape[0] != teacher.shape[0] || student.shape[1] != teacher.shape[1])
            throw new ArgumentException($"CWD compares logits channel by channel: student [{string.Join(", ", student.shape)}] and teacher [{string.Join(", ", teacher.shape)}] differ in batch or channels");
        using var scope = NewDisposeScope();
        long n = student.shape[0], c = student.shape[1];
        var t = teacher.detach();
        if (t.shape[2] != student.shape[2] || t.shape[3] != student.shape[3])
            t = F.interpolate(t, new[] { student.shape[2], student.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        var tau = options.Tau;
        var logPs = F.log_softmax(student.reshape(n * c, -1).div(Scalars.Of(tau)), 1);
        var logPt = F.log_softmax(t.reshape(n * c, -1).div(Scalars.Of(tau)), 1);
        var kl = (logPt.exp() * (logPt - logPs)).sum();
        return kl.mul(Scalars.Of(options.Weight * tau * tau / (n * c))).MoveToOuterDisposeScope();
    }
}
