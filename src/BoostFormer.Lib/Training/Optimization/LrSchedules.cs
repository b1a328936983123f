namespace BoostFormer.Training.Optimization;

/// <summary>
/// A learning-rate schedule as a pure function of the step: each group's rate is its initial rate times
/// <see cref="Factor"/> (PyTorch <c>LambdaLR</c>). Being stateless, it resumes exactly from the iteration alone.
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
/// Linear warmup then polynomial decay — Hugging Face's <c>get_polynomial_decay_schedule_with_warmup</c>: factor = step/warmup
/// during warmup; then <c>((lr0 − lrEnd)·(1 − (step − warmup)/(total − warmup))^power + lrEnd)/lr0</c>; <c>lrEnd/lr0</c> past
/// the end. SegFormer uses power 1.0.
/// </summary>
public sealed record PolynomialWarmupSchedule(long TotalSteps, long WarmupSteps, double InitialLr, double Power = 1.0, double EndLr = 0.0) : LrSchedule
{
    /// <inheritdoc />
    public override double Factor(long step)
    {
        if (TotalSteps <= 0) throw new InvalidOperationException("TotalSteps must be positive");
        if (EndLr > InitialLr) throw new InvalidOperationException($"EndLr ({EndLr}) must not exceed InitialLr ({InitialLr})");
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        if (step > TotalSteps) return EndLr / InitialLr;
        var decaySteps = TotalSteps - WarmupSteps;
        var pctRemaining = decaySteps <= 0 ? 0 : 1 - (double)(step - WarmupSteps) / decaySteps;
        return ((InitialLr - EndLr) * Math.Pow(pctRemaining, Power) + EndLr) / InitialLr;
    }
}

/// <summary>
/// Linear warmup then half-cosine decay — Hugging Face's <c>get_cosine_schedule_with_warmup</c> (num_cycles 0.5):
/// factor = step/warmup during warmup, then <c>max(0, ½(1 + cos(π·2·cycles·progress)))</c>.
/// </summary>
public sealed record CosineWarmupSchedule(long TotalSteps, long WarmupSteps, double Cycles = 0.5) : LrSchedule
{
    /// <inheritdoc />
    public override double Factor(long step)
    {
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        var progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * Cycles * 2.0 * progress)));
    }
}
