using BoostFormer.Torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// A learning-rate schedule as a pure function of the step: each group's rate is its initial rate times
/// <see cref="Factor"/> (PyTorch <c>LambdaLR</c>). Being stateless, it resumes exactly from the iteration alone. The
/// formulas are those of the Hugging Face schedules in <see cref="torch.optim.lr_scheduler"/>, shared, not repeated.
/// </summary>
public abstract record LrSchedule
{
    /// <summary>Multiplier of the initial learning rate after <paramref name="step"/> optimizer steps.</summary>
    public abstract double Factor(long step);

    /// <summary>Sets each group's <c>Lr</c> for <paramref name="step"/>.</summary>
    public void Apply(ITrainingOptimizer optimizer, long step)
    {
        var f = Factor(step);
        for (int i = 0; i < optimizer.Groups.Count; i++) optimizer.SetLr(i, optimizer.Groups[i].InitialLr * f);
    }
}

/// <summary>
/// Linear warmup then polynomial decay — Hugging Face's <c>get_polynomial_decay_schedule_with_warmup</c>, whose formula
/// (<see cref="torch.optim.lr_scheduler.polynomial_decay_with_warmup_factor"/>) this evaluates. SegFormer uses power 1.0.
/// </summary>
public sealed record PolynomialWarmupSchedule(long TotalSteps, long WarmupSteps, double InitialLr, double Power = 1.0, double EndLr = 0.0) : LrSchedule
{
    /// <inheritdoc />
    public override double Factor(long step)
    {
        if (TotalSteps <= 0) throw new InvalidOperationException("TotalSteps must be positive");
        if (EndLr > InitialLr) throw new InvalidOperationException($"EndLr ({EndLr}) must not exceed InitialLr ({InitialLr})");
        return torch.optim.lr_scheduler.polynomial_decay_with_warmup_factor(step, WarmupSteps, TotalSteps, InitialLr, EndLr, Power);
    }
}

/// <summary>
/// Linear warmup then half-cosine decay — Hugging Face's <c>get_cosine_schedule_with_warmup</c> (num_cycles 0.5), whose
/// formula (<see cref="torch.optim.lr_scheduler.cosine_with_warmup_factor"/>) this evaluates.
/// </summary>
public sealed record CosineWarmupSchedule(long TotalSteps, long WarmupSteps, double Cycles = 0.5) : LrSchedule
{
    /// <inheritdoc />
    public override double Factor(long step) => torch.optim.lr_scheduler.cosine_with_warmup_factor(step, WarmupSteps, TotalSteps, Cycles);
}
