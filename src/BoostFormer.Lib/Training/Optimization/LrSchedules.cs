using TorchSharp;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// A learning-rate schedule as a pure function of the step: each group's rate is its initial rate times
/// <see cref="Factor"/> (PyTorch <c>LambdaLR</c>). Being stateless, it resumes exactly from the iteration alone. The
/// formulas are those of the Hugging Face schedules (<c>transformers.optimization</c>), in <see cref="HfScheduleFactors"/>.
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
/// (<see cref="HfScheduleFactors.PolynomialDecayWithWarmup"/>) this evaluates. SegFormer uses power 1.0.
/// </summary>
public sealed record PolynomialWarmupSchedule(long TotalSteps, long WarmupSteps, double InitialLr, double Power = 1.0, double EndLr = 0.0) : LrSchedule
{
    /// <inheritdoc />
    public override double Factor(long step)
    {
        if (TotalSteps <= 0) throw new InvalidOperationException("TotalSteps must be positive");
        if (EndLr > InitialLr) throw new InvalidOperationException($"EndLr ({EndLr}) must not exceed InitialLr ({InitialLr})");
        return HfScheduleFactors.PolynomialDecayWithWarmup(step, WarmupSteps, TotalSteps, InitialLr, EndLr, Power);
    }
}

/// <summary>
/// Linear warmup then half-cosine decay — Hugging Face's <c>get_cosine_schedule_with_warmup</c> (num_cycles 0.5), whose
/// formula (<see cref="HfScheduleFactors.CosineWithWarmup"/>) this evaluates.
/// </summary>
public sealed record CosineWarmupSchedule(long TotalSteps, long WarmupSteps, double Cycles = 0.5) : LrSchedule
{
    /// <inheritdoc />
    public override double Factor(long step) => HfScheduleFactors.CosineWithWarmup(step, WarmupSteps, TotalSteps, Cycles);
}

/// <summary>
/// The multipliers of Hugging Face's warmup schedules as pure functions of the step (TorchSharp's <c>lr_scheduler</c>
/// has no HF schedules): a trainer that recomputes the rate from the step alone resumes exactly.
/// </summary>
public static class HfScheduleFactors
{
    /// <summary>
    /// <c>get_polynomial_decay_schedule_with_warmup</c>: <c>step/warmup</c> during warmup, then
    /// <c>((lr_init − lr_end)·(1 − (step − warmup)/(total − warmup))^power + lr_end)/lr_init</c>, and <c>lr_end/lr_init</c>
    /// after <paramref name="num_training_steps"/>.
    /// </summary>
    public static double PolynomialDecayWithWarmup(long current_step, long num_warmup_steps, long num_training_steps,
        double lr_init, double lr_end = 1e-7, double power = 1.0)
    {
        if (current_step < num_warmup_steps) return (double)current_step / Math.Max(1, num_warmup_steps);
        if (current_step > num_training_steps) return lr_end / lr_init;
        var lr_range = lr_init - lr_end;
        var decay_steps = num_training_steps - num_warmup_steps;
        var pct_remaining = decay_steps <= 0 ? 0 : 1 - (double)(current_step - num_warmup_steps) / decay_steps;
        var decay = lr_range * Math.Pow(pct_remaining, power) + lr_end;
        return decay / lr_init;
    }

    /// <summary>
    /// <c>get_cosine_schedule_with_warmup</c>: <c>step/warmup</c> during warmup, then
    /// <c>max(0, ½(1 + cos(π·2·num_cycles·progress)))</c>.
    /// </summary>
    public static double CosineWithWarmup(long current_step, long num_warmup_steps, long num_training_steps, double num_cycles = 0.5)
    {
        if (current_step < num_warmup_steps) return (double)current_step / Math.Max(1, num_warmup_steps);
        var progress = (double)(current_step - num_warmup_steps) / Math.Max(1, num_training_steps - num_warmup_steps);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * num_cycles * 2.0 * progress)));
    }
}
