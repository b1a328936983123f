namespace BoostFormer.Torch;

/// <summary>How a loss reduces over elements (values are ATen's Reduction enum).</summary>
public enum Reduction { None = 0, Mean = 1, Sum = 2 }

/// <summary>Interpolation modes of <see cref="torch.nn.functional.interpolate"/>.</summary>
public enum InterpolationMode { Nearest, Bilinear }

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Stateless layers and losses (PyTorch's <c>torch.nn.functional</c>).</summary>
        public static class functional
        {
            private static Op O(string name) => Op.Get(name);

            /// <summary>2-D convolution over an NCHW input; <paramref name="weight"/> is [out, in/groups, kH, kW].</summary>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? dilation = null, long groups = 1) =>
                O("aten::conv2d").Call().T(input).T(weight).T(bias, true).L(stride ?? new long[] { 1, 1 }).L(padding ?? new long[] { 0, 0 }).L(dilation ?? new long[] { 1, 1 }).I(groups).Tensor();

            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding, long dilation = 1, long groups = 1) =>
                conv2d(input, weight, bias, new[] { stride, stride }, new[] { padding, padding }, new[] { dilation, dilation }, groups);

            /// <summary>y = x Wᵀ + b.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) => O("aten::linear").Call().T(input).T(weight).T(bias, true).Tensor();

            /// <summary>Layer normalisation over the trailing <paramref name="normalized_shape"/> dimensions.</summary>
            public static Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
                O("aten::layer_norm").Call().T(input).L(normalized_shape).T(weight, true).T(bias, true).D(eps).B(true).Tensor();

            /// <summary>Batch normalisation. In training the batch statistics are used and the running ones updated with
            /// <paramref name="momentum"/>; in eval the running statistics are used.</summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null, Tensor? bias = null,
                bool training = false, double momentum = 0.1, double eps = 1e-5) =>
                O("aten::batch_norm").Call().T(input).T(weight, true).T(bias, true).T(running_mean, true).T(running_var, true).B(training).D(momentum).D(eps).B(true).Tensor();

            /// <summary>
            /// Gaussian error linear unit x·Φ(x) (<paramref name="approximate"/> "none" or "tanh"). Runs libtorch's kernels through a
            /// small autograd wrapper in the shim, because libtorch 1.13.1's exact gelu_backward is wrong for strided gradients.
            /// </summary>
            public static Tensor gelu(Tensor input, string approximate = "none")
            {
                if (approximate != "none" && approximate != "tanh") throw new ArgumentException($"gelu: approximate must be \"none\" or \"tanh\", not \"{approximate}\"", nameof(approximate));
                var y = new Tensor(Native.Check(Native.bf_gelu(input.Handle, approximate)));
                if (OpObserver.Current is not null) OpObserver.ObserveDirect("aten::gelu", input.Handle, y.Handle);
                return y;
            }
            public static Tensor relu(Tensor input) => O("aten::relu").Call().T(input).Tensor();
            public static Tensor relu6(Tensor input) => O("aten::hardtanh").Call().T(input).S(0.0).S(6.0).Tensor();
            public static Tensor silu(Tensor input) => O("aten::silu").Call().T(input).Tensor();
            public static Tensor sigmoid(Tensor input) => input.sigmoid();
            public static Tensor softmax(Tensor input, long dim) => input.softmax(dim);
            public static Tensor log_softmax(Tensor input, long dim) => input.log_softmax(dim);

            /// <summary>Zeroes elements with probability <paramref name="p"/> and scales the rest by 1/(1-p) when training.</summary>
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true) => O("aten::dropout").Call().T(input).D(p).B(training).Tensor();

            public static Tensor avg_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null) =>
                O("aten::avg_pool2d").Call().T(input).L(kernel_size).L(stride ?? kernel_size).L(padding ?? new long[] { 0, 0 }).B(ceil_mode).B(count_include_pad).I(divisor_override).Tensor();

            public static Tensor avg_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false, bool count_include_pad = true) =>
                avg_pool2d(input, new[] { kernel_size, kernel_size }, new[] { stride ?? kernel_size, stride ?? kernel_size }, new[] { padding, padding }, ceil_mode, count_include_pad);

            public static Tensor max_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false) =>
                O("aten::max_pool2d").Call().T(input).L(kernel_size).L(stride ?? kernel_size).L(padding ?? new long[] { 0, 0 }).L(dilation ?? new long[] { 1, 1 }).B(ceil_mode).Tensor();

            public static Tensor adaptive_avg_pool2d(Tensor input, long[] output_size) => O("aten::adaptive_avg_pool2d").Call().T(input).L(output_size).Tensor();
            public static Tensor adaptive_avg_pool2d(Tensor input, long output_size) => adaptive_avg_pool2d(input, new[] { output_size, output_size });

            /// <summary>
            /// Resizes an NCHW tensor to <paramref name="size"/> (or by <paramref name="scale_factor"/>) with bilinear or nearest
            /// interpolation; <paramref name="align_corners"/> applies to bilinear only, as in PyTorch.
            /// </summary>
            public static Tensor interpolate(Tensor input, long[]? size = null, double[]? scale_factor = null, InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null)
            {
                if ((size is null) == (scale_factor is null)) throw new ArgumentException("interpolate: give exactly one of size and scale_factor");
                if (mode == InterpolationMode.Nearest && align_corners is not null) throw new ArgumentException("interpolate: align_corners only applies to bilinear mode");
                return mode switch
                {
                    InterpolationMode.Bilinear => O("aten::upsample_bilinear2d.vec").Call().T(input).LOpt(size).B(align_corners ?? false).DLOpt(scale_factor).Tensor(),
                    _ => O("aten::upsample_nearest2d.vec").Call().T(input).LOpt(size).DLOpt(scale_factor).Tensor(),
                };
            }

            /// <summary>Pads the last dimensions: <paramref name="pad"/> = (left, right, top, bottom, …) as in PyTorch.</summary>
            public static Tensor pad(Tensor input, long[] pad, string mode = "constant", double value = 0) =>
                mode == "constant" ? O("aten::constant_pad_nd").Call().T(input).L(pad).S(value).Tensor()
                                   : O("aten::pad").Call().T(input).L(pad).Str(mode).None().Tensor();

            /// <summary>
            /// Cross-entropy between logits [N, C, …] and class indices [N, …], with ignored targets, class weights and label
            /// smoothing; the mean is over non-ignored elements (weighted when <paramref name="weight"/> is given), as in PyTorch.
            /// </summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean, double label_smoothing = 0.0) =>
                O("aten::cross_entropy_loss").Call().T(input).T(target).T(weight, true).I((long)reduction).I(ignore_index).D(label_smoothing).Tensor();

            public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean) =>
                O("aten::nll_loss_nd").Call().T(input).T(target).T(weight, true).I((long)reduction).I(ignore_index).Tensor();

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) => O("aten::mse_loss").Call().T(input).T(target).I((long)reduction).Tensor();
            public static Tensor l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) => O("aten::l1_loss").Call().T(input).T(target).I((long)reduction).Tensor();

            /// <summary>KL divergence with <paramref name="input"/> given as log-probabilities (PyTorch's F.kl_div; 'batchmean' = Sum / batch).</summary>
            public static Tensor kl_div(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool log_target = false) =>
                O("aten::kl_div").Call().T(input).T(target).I((long)reduction).B(log_target).Tensor();

            /// <summary>
            /// KL divergence with PyTorch's string reductions: "none", "sum", "mean" (over all elements) or "batchmean"
            /// (sum divided by the batch size, the mathematically correct KL — what PyTorch recommends).
            /// </summary>
            public static Tensor kl_div(Tensor input, Tensor target, string reduction, bool log_target = false)
            {
                switch (reduction)
                {
                    case "none": return kl_div(input, target, Reduction.None, log_target);
                    case "sum": return kl_div(input, target, Reduction.Sum, log_target);
                    case "mean": return kl_div(input, target, Reduction.Mean, log_target);
                    case "batchmean":
                        using (var s = kl_div(input, target, Reduction.Sum, log_target))
                            return input.dim() == 0 ? s.alias() : s.div(input.size(0));
                    default: throw new ArgumentException($"kl_div: reduction must be none, sum, mean or batchmean, not '{reduction}'", nameof(reduction));
                }
            }

            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean) =>
                O("aten::binary_cross_entropy_with_logits").Call().T(input).T(target).T(weight, true).None().I((long)reduction).Tensor();

            public static Tensor one_hot(Tensor x, long num_classes = -1) => torch.one_hot(x, num_classes);
        }
    }
}
