using BoostFormer.Torch.Modules;

namespace BoostFormer.Torch;

public static partial class torch
{
    /// <summary>Optimizers and learning-rate schedulers (PyTorch's <c>torch.optim</c>).</summary>
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
