using System.Text.Json;

namespace BoostFormer.Torch;

public static partial class torch
{
    public static partial class optim
    {
        public static partial class lr_scheduler
        {
            /// <summary>
            /// Base class of learning-rate schedulers (PyTorch's <c>torch.optim.lr_scheduler._LRScheduler</c>). A scheduler
            /// rewrites each group's <c>lr</c> from the group's <c>initial_lr</c> (set from <c>lr</c> when the first scheduler
            /// is attached) every time <see cref="step"/> is called; the constructor performs the first step, so
            /// <see cref="last_epoch"/> is 0 right after construction. Step it once per iteration, after
            /// <c>optimizer.step()</c>.
            /// </summary>
            public abstract class LRScheduler
            {
                private double[] _lastLr = Array.Empty<double>();

                /// <param name="optimizer">The wrapped optimizer.</param>
                /// <param name="last_epoch">The index of the last step; -1 starts from the beginning (and sets every group's
                /// <c>initial_lr</c> from its <c>lr</c> if it has none). Resuming with another value requires <c>initial_lr</c>
                /// in every group.</param>
                protected LRScheduler(Optimizer optimizer, long last_epoch = -1)
                {
                    ArgumentNullException.ThrowIfNull(optimizer);
                    this.optimizer = optimizer;
                    var groups = optimizer.param_groups;
                    if (last_epoch == -1)
                    {
                        foreach (var g in groups) g.SetDefault("initial_lr", g.lr);
                    }
                    else
                    {
                        for (int i = 0; i < groups.Count; i++)
                            if (groups[i].initial_lr is null)
                                throw new ArgumentException($"param 'initial_lr' is not specified in param_groups[{i}] when resuming an optimizer", nameof(last_epoch));
                    }
                    base_lrs = groups.Select(g => g.initial_lr!.Value).ToArray();
                    this.last_epoch = last_epoch;
                }

                /// <summary>Performs the initial step; concrete schedulers call this at the end of their constructor.</summary>
                protected void InitialStep()
                {
                    _step_count = 0;
                    step();
                }

                /// <summary>The optimizer whose learning rates this scheduler sets.</summary>
                public Optimizer optimizer { get; }

                /// <summary>Each group's starting learning rate.</summary>
                public double[] base_lrs { get; private set; }

                /// <summary>The number of the current step (0 right after construction).</summary>
                public long last_epoch { get; private set; }

                /// <summary>How many times <see cref="step"/> ran (including the constructor's).</summary>
                public long _step_count { get; private set; }

                /// <summary>The learning rates (per group) for the current <see cref="last_epoch"/>.</summary>
                protected abstract double[] get_lr();

                /// <summary>The learning rate of each group as set by the last <see cref="step"/>.</summary>
                public double[] get_last_lr() => (double[])_lastLr.Clone();

                /// <summary>Advances one step and writes the new learning rate into every group.</summary>
                public void step()
                {
                    _step_count++;
                    last_epoch++;
                    var values = get_lr();
                    var groups = optimizer.param_groups;
                    if (values.Length != groups.Count) throw new InvalidOperationException($"{GetType().Name} produced {values.Length} learning rates for {groups.Count} parameter groups");
                    for (int i = 0; i < groups.Count; i++) groups[i].lr = values[i];
                    _lastLr = groups.Select(g => g.lr).ToArray();
                }

                /// <summary>The scheduler's state (PyTorch's <c>state_dict()</c>: counters and base rates; not the lambdas).</summary>
                public SchedulerState state_dict() => new()
                {
                    scheduler = GetType().Name,
                    last_epoch = last_epoch,
                    step_count = _step_count,
                    base_lrs = (double[])base_lrs.Clone(),
                    last_lr = get_last_lr(),
                };

                /// <summary>
                /// Restores a state saved by <see cref="state_dict"/>. As in PyTorch this restores the scheduler only; the
                /// groups' current learning rates come back with the optimizer's own state.
                /// </summary>
                public void load_state_dict(SchedulerState state)
                {
                    ArgumentNullException.ThrowIfNull(state);
                    if (state.scheduler != GetType().Name)
                        throw new ArgumentException($"the saved scheduler state is for '{state.scheduler}', but this scheduler is {GetType().Name}", nameof(state));
                    var n = optimizer.param_groups.Count;
                    if (state.base_lrs is null || state.base_lrs.Length != n || state.last_lr is null || state.last_lr.Length != n)
                        throw new ArgumentException($"the saved scheduler state has {state.base_lrs?.Length ?? 0} base rates and {state.last_lr?.Length ?? 0} last rates, but the optimizer has {n} parameter groups", nameof(state));
                    if (state.last_epoch < -1) throw new ArgumentException($"the saved scheduler state has last_epoch {state.last_epoch}", nameof(state));
                    last_epoch = state.last_epoch;
                    _step_count = state.step_count;
                    base_lrs = (double[])state.base_lrs.Clone();
                    _lastLr = (double[])state.last_lr.Clone();
                }

                public override string ToString() => $"{GetType().Name}(last_epoch={last_epoch}, lr=[{string.Join(", ", _lastLr)}])";
            }

            /// <summary>
            /// Sets each group's learning rate to its initial lr times a function of the step:
            /// <c>lr = initial_lr * lr_lambda(last_epoch)</c> (PyTorch's <c>LambdaLR</c>).
            /// </summary>
            public sealed class LambdaLR : LRScheduler
            {
                private readonly Func<long, double>[] _lambdas;

                /// <summary>One function for every group.</summary>
                public LambdaLR(Optimizer optimizer, Func<long, double> lr_lambda, long last_epoch = -1)
                    : this(optimizer, Enumerable.Repeat(lr_lambda ?? throw new ArgumentNullException(nameof(lr_lambda)), optimizer.param_groups.Count).ToArray(), last_epoch) { }

                /// <summary>One function per group.</summary>
                public LambdaLR(Optimizer optimizer, IReadOnlyList<Func<long, double>> lr_lambdas, long last_epoch = -1) : base(optimizer, last_epoch)
                {
                    ArgumentNullException.ThrowIfNull(lr_lambdas);
                    if (lr_lambdas.Count != optimizer.param_groups.Count)
                        throw new ArgumentException($"Expected {optimizer.param_groups.Count} lr_lambdas, but got {lr_lambdas.Count}", nameof(lr_lambdas));
                    if (lr_lambdas.Any(l => l is null)) throw new ArgumentException("an lr_lambda is null", nameof(lr_lambdas));
                    _lambdas = lr_lambdas.ToArray();
                    InitialStep();
                }

                protected override double[] get_lr() => base_lrs.Select((b, i) => b * _lambdas[i](last_epoch)).ToArray();
            }

            /// <summary>
            /// Multiplies each group's learning rate by <c>gamma</c> every <c>step_size</c> steps (PyTorch's <c>StepLR</c>,
            /// chainable form: the current lr is multiplied, so it composes with other changes to the lr).
            /// </summary>
            public sealed class StepLR : LRScheduler
            {
                /// <summary>Period of the decay, in steps.</summary>
                public long step_size { get; }

                /// <summary>Multiplicative factor of the decay.</summary>
                public double gamma { get; }

                public StepLR(Optimizer optimizer, long step_size, double gamma = 0.1, long last_epoch = -1) : base(optimizer, last_epoch)
                {
                    if (step_size <= 0) throw new ArgumentException($"step_size must be positive, got {step_size}", nameof(step_size));
                    this.step_size = step_size;
                    this.gamma = gamma;
                    InitialStep();
                }

                protected override double[] get_lr()
                {
                    var groups = optimizer.param_groups;
                    if (last_epoch == 0 || last_epoch % step_size != 0) return groups.Select(g => g.lr).ToArray();
                    return groups.Select(g => g.lr * gamma).ToArray();
                }
            }

            // ------------------------------------------------------------ Hugging Face schedules (transformers.optimization)

            /// <summary>
            /// Hugging Face's <c>get_polynomial_decay_schedule_with_warmup</c>: the lr rises linearly from 0 to the
            /// optimizer's default lr during <paramref name="num_warmup_steps"/>, then decays as a polynomial of degree
            /// <paramref name="power"/> to <paramref name="lr_end"/> at <paramref name="num_training_steps"/> and stays there.
            /// As in transformers, the factor is computed from <c>optimizer.defaults["lr"]</c> and applied to each group's
            /// initial lr (so a group with 10× the lr ends at 10× <paramref name="lr_end"/>).
            /// </summary>
            public static LambdaLR get_polynomial_decay_schedule_with_warmup(Optimizer optimizer, long num_warmup_steps, long num_training_steps,
                double lr_end = 1e-7, double power = 1.0, long last_epoch = -1)
            {
                ArgumentNullException.ThrowIfNull(optimizer);
                var lr_init = optimizer.defaults["lr"];
                if (!(lr_init > lr_end)) throw new ArgumentException($"lr_end ({lr_end}) must be be smaller than initial lr ({lr_init})", nameof(lr_end));
                if (num_warmup_steps < 0) throw new ArgumentException($"num_warmup_steps must be >= 0, got {num_warmup_steps}", nameof(num_warmup_steps));
                // transformers divides by (num_training_steps - num_warmup_steps) at step == num_warmup_steps when the two are equal.
                if (num_training_steps == num_warmup_steps)
                    throw new ArgumentException($"num_training_steps ({num_training_steps}) must differ from num_warmup_steps: the decay would last zero steps", nameof(num_training_steps));
                return new LambdaLR(optimizer, current_step => polynomial_decay_with_warmup_factor(current_step, num_warmup_steps, num_training_steps, lr_init, lr_end, power), last_epoch);
            }

            /// <summary>
            /// The multiplier of <see cref="get_polynomial_decay_schedule_with_warmup"/> at <paramref name="current_step"/>, as a
            /// pure function (a trainer that recomputes the lr from the step alone resumes exactly): <c>step/warmup</c> during
            /// warmup, then <c>((lr_init − lr_end)·(1 − (step − warmup)/(total − warmup))^power + lr_end)/lr_init</c>, and
            /// <c>lr_end/lr_init</c> after <paramref name="num_training_steps"/>.
            /// </summary>
            public static double polynomial_decay_with_warmup_factor(long current_step, long num_warmup_steps, long num_training_steps,
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
            /// Hugging Face's <c>get_cosine_schedule_with_warmup</c>: linear warmup from 0 during
            /// <paramref name="num_warmup_steps"/>, then the cosine from 1 down to 0 over <paramref name="num_cycles"/>
            /// periods (0.5: half a cosine, ending at 0 at <paramref name="num_training_steps"/>).
            /// </summary>
            public static LambdaLR get_cosine_schedule_with_warmup(Optimizer optimizer, long num_warmup_steps, long num_training_steps,
                double num_cycles = 0.5, long last_epoch = -1)
            {
                ArgumentNullException.ThrowIfNull(optimizer);
                if (num_warmup_steps < 0) throw new ArgumentException($"num_warmup_steps must be >= 0, got {num_warmup_steps}", nameof(num_warmup_steps));
                return new LambdaLR(optimizer, current_step => cosine_with_warmup_factor(current_step, num_warmup_steps, num_training_steps, num_cycles), last_epoch);
            }

            /// <summary>
            /// The multiplier of <see cref="get_cosine_schedule_with_warmup"/> at <paramref name="current_step"/>, as a pure
            /// function: <c>step/warmup</c> during warmup, then <c>max(0, ½(1 + cos(π·2·num_cycles·progress)))</c>.
            /// </summary>
            public static double cosine_with_warmup_factor(long current_step, long num_warmup_steps, long num_training_steps, double num_cycles = 0.5)
            {
                if (current_step < num_warmup_steps) return (double)current_step / Math.Max(1, num_warmup_steps);
                var progress = (double)(current_step - num_warmup_steps) / Math.Max(1, num_training_steps - num_warmup_steps);
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * num_cycles * 2.0 * progress)));
            }

            /// <summary>Hugging Face's <c>get_constant_schedule_with_warmup</c>: linear warmup from 0, then the initial lr.</summary>
            public static LambdaLR get_constant_schedule_with_warmup(Optimizer optimizer, long num_warmup_steps, long last_epoch = -1)
            {
                ArgumentNullException.ThrowIfNull(optimizer);
                if (num_warmup_steps < 0) throw new ArgumentException($"num_warmup_steps must be >= 0, got {num_warmup_steps}", nameof(num_warmup_steps));
                return new LambdaLR(optimizer, current_step =>
                    current_step < num_warmup_steps ? (double)current_step / Math.Max(1.0, num_warmup_steps) : 1.0, last_epoch);
            }
        }
    }
}

/// <summary>A scheduler's saved state (JSON-able): its type, step counters and per-group base and last learning rates.</summary>
public sealed class SchedulerState
{
    public string scheduler { get; set; } = "";
    public long last_epoch { get; set; }
    public long step_count { get; set; }
    public double[]? base_lrs { get; set; }
    public double[]? last_lr { get; set; }

    /// <summary>JSON (doubles round-trip exactly).</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses JSON written by <see cref="ToJson"/>; throws <see cref="FormatException"/> naming the problem.</summary>
    public static SchedulerState FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<SchedulerState>(json) ?? throw new FormatException("scheduler state JSON is 'null'");
        }
        catch (JsonException e)
        {
            throw new FormatException($"scheduler state JSON is invalid: {e.Message}", e);
        }
    }
}
