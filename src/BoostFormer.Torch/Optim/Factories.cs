using BoostFormer.Torch.Modules;

namespace BoostFormer.Torch;

public static partial class torch
{
    /// <summary>Optimizers and learning-rate schedulers (PyTorch's <c>torch.optim</c>).</summary>
    /// <example>
    /// <code>
    /// var named = model.named_parameters().ToList();
    /// var noDecay = named.Where(n => n.name.EndsWith("bias") || n.name.Contains("norm")).Select(n => (Tensor)n.parameter).ToList();
    /// var decay = named.Select(n => (Tensor)n.parameter).Except(noDecay).ToList();
    /// using var opt = torch.optim.AdamW(new[] { new optim.ParamGroup(decay), new optim.ParamGroup(noDecay, weight_decay: 0) },
    ///     lr: 6e-5, weight_decay: 0.01);
    /// var sched = torch.optim.lr_scheduler.get_polynomial_decay_schedule_with_warmup(opt, 1500, 160000, lr_end: 0, power: 1.0);
    /// for (...) { using var scope = torch.NewDisposeScope(); opt.zero_grad(); loss.backward(); opt.step(); sched.step(); }
    /// // checkpoint: opt.StateTensors() (state.&lt;i&gt;.exp_avg ...) + opt.HyperParameters().ToJson() + sched.state_dict().ToJson()
    /// </code>
    /// </example>
    public static partial class optim
    {
        /// <summary>
        /// AdamW over one group of <paramref name="parameters"/> (PyTorch 1.13 defaults: lr 1e-3, betas (0.9, 0.999),
        /// eps 1e-8, weight_decay 1e-2). See <see cref="Modules.AdamW"/> for the update.
        /// </summary>
        public static Modules.AdamW AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(new[] { new ParamGroup(parameters) }, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

        /// <summary>AdamW over parameter groups; the other arguments are defaults for options a group leaves unset.</summary>
        public static Modules.AdamW AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(groups, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

        /// <summary>SGD over one group of <paramref name="parameters"/>. See <see cref="Modules.SGD"/> for the update.</summary>
        public static Modules.SGD SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(new[] { new ParamGroup(parameters) }, lr, momentum, dampening, weight_decay, nesterov, maximize);

        /// <summary>SGD over parameter groups; the other arguments are defaults for options a group leaves unset.</summary>
        public static Modules.SGD SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(groups, lr, momentum, dampening, weight_decay, nesterov, maximize);
    }
}
