using System.Globalization;

namespace BoostFormer.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>
        /// A parameter group (an entry of PyTorch's <c>optimizer.param_groups</c>): a list of parameters plus the
        /// hyper-parameters that apply to them. Options left unset (null) take the optimizer's defaults when the group is
        /// added to an optimizer, exactly like PyTorch's <c>param_group.setdefault(name, default)</c>. Typical uses: a group
        /// with <c>weight_decay: 0</c> for norms and biases, a group with ten times the learning rate for a decoder.
        /// </summary>
        /// <remarks>
        /// Every hyper-parameter is stored as a number under its PyTorch name (<c>lr</c>, <c>weight_decay</c>, <c>beta1</c>,
        /// <c>beta2</c>, <c>eps</c>, <c>amsgrad</c>, <c>momentum</c>, <c>dampening</c>, <c>nesterov</c>, <c>maximize</c>,
        /// <c>initial_lr</c>); booleans are 0 or 1. PyTorch's <c>betas</c> tuple is stored as <c>beta1</c> and <c>beta2</c>.
        /// </remarks>
        public sealed class ParamGroup
        {
            private readonly List<Tensor> _params;
            private readonly SortedDictionary<string, double> _options = new(StringComparer.Ordinal);

            /// <summary>
            /// A group of <paramref name="parameters"/> with optional per-group hyper-parameters. Options that do not
            /// apply to the optimizer the group is given to (e.g. <paramref name="momentum"/> for AdamW) are rejected there.
            /// </summary>
            public ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weight_decay = null,
                double? beta1 = null, double? beta2 = null, double? eps = null, bool? amsgrad = null,
                double? momentum = null, double? dampening = null, bool? nesterov = null, bool? maximize = null,
                string? name = null)
            {
                ArgumentNullException.ThrowIfNull(parameters);
                _params = parameters.ToList();
                this.name = name;
                Set("lr", lr); Set("weight_decay", weight_decay); Set("beta1", beta1); Set("beta2", beta2); Set("eps", eps);
                Set("amsgrad", amsgrad); Set("momentum", momentum); Set("dampening", dampening); Set("nesterov", nesterov);
                Set("maximize", maximize);
            }

            /// <summary>A group built from a parameter list and explicit options (keys as in the remarks).</summary>
            public ParamGroup(IEnumerable<Tensor> parameters, IReadOnlyDictionary<string, double> options, string? name = null)
            {
                ArgumentNullException.ThrowIfNull(parameters);
                ArgumentNullException.ThrowIfNull(options);
                _params = parameters.ToList();
                this.name = name;
                foreach (var (k, v) in options) _options[k] = v;
            }

            private void Set(string key, double? v) { if (v is not null) _options[key] = v.Value; }
            private void Set(string key, bool? v) { if (v is not null) _options[key] = v.Value ? 1 : 0; }

            /// <summary>An optional label (saved with the optimizer's hyper-parameters; handy in logs).</summary>
            public string? name { get; }

            /// <summary>The parameters of this group, in order.</summary>
            public IReadOnlyList<Tensor> Parameters => _params;

            /// <summary>The group's hyper-parameters by name (after being added to an optimizer: all of them).</summary>
            public IReadOnlyDictionary<string, double> Options => _options;

            /// <summary>True when the group has a value for <paramref name="option"/>.</summary>
            public bool Has(string option) => _options.ContainsKey(option);

            /// <summary>The value of a hyper-parameter; throws naming the option and the ones present when it is missing.</summary>
            public double this[string option]
            {
                get => _options.TryGetValue(option, out var v) ? v :
                    throw new KeyNotFoundException($"parameter group{(name is null ? "" : $" '{name}'")} has no option '{option}' (it has: {string.Join(", ", _options.Keys)})");
                set
                {
                    if (double.IsNaN(value)) throw new ArgumentException($"option '{option}' cannot be NaN", nameof(value));
                    _options[option] = value;
                }
            }

            /// <summary>Sets <paramref name="option"/> only if the group has no value for it (PyTorch's <c>setdefault</c>).</summary>
            public double SetDefault(string option, double value)
            {
                if (_options.TryGetValue(option, out var v)) return v;
                _options[option] = value;
                return value;
            }

            internal void RemoveOption(string option) => _options.Remove(option);

            /// <summary>The learning rate (changed by learning-rate schedulers).</summary>
            public double lr { get => this["lr"]; set => this["lr"] = value; }

            /// <summary>The weight decay: decoupled for AdamW, an L2 term added to the gradient for SGD.</summary>
            public double weight_decay { get => this["weight_decay"]; set => this["weight_decay"] = value; }

            /// <summary>The learning rate a scheduler started from (set by the first scheduler attached), or null.</summary>
            public double? initial_lr
            {
                get => _options.TryGetValue("initial_lr", out var v) ? v : null;
                set { if (value is null) _options.Remove("initial_lr"); else this["initial_lr"] = value.Value; }
            }

            internal bool Flag(string option) => this[option] != 0;

            public override string ToString() =>
                $"ParamGroup({(name is null ? "" : name + ", ")}{_params.Count} tensors, " +
                string.Join(", ", _options.Select(kv => kv.Key + "=" + kv.Value.ToString("R", CultureInfo.InvariantCulture))) + ")";
        }
    }
}
