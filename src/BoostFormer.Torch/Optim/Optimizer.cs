using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BoostFormer.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>
        /// Base class for all optimizers (PyTorch's <c>torch.optim.Optimizer</c>). It holds <see cref="param_groups"/>
        /// and the per-parameter <see cref="state"/>; <see cref="step"/> performs a single optimization step under
        /// <c>no_grad</c> with in-place operations; <see cref="state_dict"/> / <see cref="load_state_dict(OptimizerState)"/>
        /// save and restore everything needed to resume exactly.
        /// </summary>
        /// <remarks>
        /// The optimizer owns its state tensors (moments, momentum buffers) and releases them in <see cref="Dispose"/>;
        /// it never owns the parameters. Parameters are identified by object identity and, in saved state, by their index
        /// in the concatenation of all groups' parameter lists (PyTorch's numbering).
        /// </remarks>
        public abstract class Optimizer : IDisposable
        {
            private readonly List<ParamGroup> _groups = new();
            private readonly Dictionary<Tensor, ParamState> _state = new(ReferenceEqualityComparer.Instance);
            private readonly SortedDictionary<string, double> _defaults;
            private bool _disposed;

            /// <param name="groups">The parameter groups (at least one, with at least one parameter overall).</param>
            /// <param name="defaults">Every hyper-parameter this optimizer knows, with its default value.</param>
            protected Optimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, double> defaults)
            {
                ArgumentNullException.ThrowIfNull(groups);
                _defaults = new SortedDictionary<string, double>(defaults.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
                var list = groups.ToList();
                if (list.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(groups));
                foreach (var g in list) add_param_group(g);
                if (_groups.Sum(g => g.Parameters.Count) == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(groups));
            }

            /// <summary>The optimizer's name as saved in its hyper-parameters (e.g. <c>AdamW</c>).</summary>
            public virtual string Name => GetType().Name;

            /// <summary>The default hyper-parameters given at construction (PyTorch's <c>optimizer.defaults</c>).</summary>
            public IReadOnlyDictionary<string, double> defaults => _defaults;

            /// <summary>The parameter groups, in order.</summary>
            public IReadOnlyList<ParamGroup> param_groups => _groups;

            /// <summary>Per-parameter state (created lazily at the first step that sees a gradient).</summary>
            public IReadOnlyDictionary<Tensor, ParamState> state => _state;

            /// <summary>Names of the per-parameter state tensors this optimizer keeps (e.g. <c>exp_avg</c>).</summary>
            protected abstract IReadOnlyCollection<string> StateTensorNames { get; }

            /// <summary>True when the per-parameter state includes a step count (saved as <c>state.&lt;i&gt;.step</c>).</summary>
            protected virtual bool TracksStep => false;

            /// <summary>Checks a group's hyper-parameters (after defaults are filled in); throws <see cref="ArgumentException"/>.</summary>
            protected abstract void ValidateGroup(ParamGroup group);

            /// <summary>The update for one group; called under <c>no_grad</c>.</summary>
            protected abstract void UpdateGroup(ParamGroup group);

            /// <summary>
            /// Adds a parameter group (PyTorch's <c>add_param_group</c>): unset options take <see cref="defaults"/>, options the
            /// optimizer does not know are rejected, and a parameter may appear in only one group.
            /// </summary>
            public void add_param_group(ParamGroup group)
            {
                ArgumentNullException.ThrowIfNull(group);
                ObjectDisposedException.ThrowIf(_disposed, this);
                foreach (var k in group.Options.Keys)
                    if (!_defaults.ContainsKey(k) && k != "initial_lr")
                        throw new ArgumentException($"{Name} does not have the hyper-parameter '{k}' (group{(group.name is null ? "" : $" '{group.name}'")}); it knows: {string.Join(", ", _defaults.Keys)}", nameof(group));
                for (int i = 0; i < group.Parameters.Count; i++)
                {
                    var p = group.Parameters[i];
                    if (p is null) throw new ArgumentException($"parameter {i} of the group is null", nameof(group));
                    if (!p.is_floating_point()) throw new ArgumentException($"optimizer can only optimize floating-point tensors, but parameter {i} has dtype {p.dtype}", nameof(group));
                    if (!p.is_leaf) throw new ArgumentException($"can't optimize a non-leaf Tensor (parameter {i} of the group)", nameof(group));
                }
                var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                foreach (var g in _groups) foreach (var p in g.Parameters) seen.Add(p);
                var own = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                foreach (var p in group.Parameters)
                {
                    if (!own.Add(p)) throw new ArgumentException("a parameter group contains the same parameter twice", nameof(group));
                    if (seen.Contains(p)) throw new ArgumentException("some parameters appear in more than one parameter group", nameof(group));
                }
                foreach (var (k, v) in _defaults) group.SetDefault(k, v);
                ValidateGroup(group);
                _groups.Add(group);
            }

            /// <summary>
            /// Resets the gradients of all optimized parameters. With <paramref name="set_to_none"/> (the default, as in
            /// PyTorch 2.x) the gradients are released (<c>grad = None</c>: lower memory, and the parameter is skipped by the
            /// next step if it gets no new gradient); otherwise they are filled with zeros in place (PyTorch 1.13's default).
            /// </summary>
            public void zero_grad(bool set_to_none = true)
            {
                foreach (var g in _groups)
                    foreach (var p in g.Parameters)
                    {
                        if (set_to_none) { p.grad = null; continue; }
                        using var grad = p.grad;
                        grad?.zero_();
                    }
            }

            /// <summary>
            /// Performs a single optimization step (parameter update). If <paramref name="closure"/> is given it is called
            /// first with gradients enabled (it should clear the gradients, compute the loss, call backward and return the
            /// loss) and its loss is returned.
            /// </summary>
            public Tensor? step(Func<Tensor>? closure = null)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                Tensor? loss = null;
                if (closure is not null)
                    using (enable_grad()) loss = closure();
                using (no_grad())
                {
                    foreach (var g in _groups) UpdateGroup(g);
                }
                return loss;
            }

            /// <summary>The state of <paramref name="p"/>, created empty when missing.</summary>
            protected ParamState StateOf(Tensor p)
            {
                if (!_state.TryGetValue(p, out var s)) _state[p] = s = new ParamState();
                return s;
            }

            // ---------------------------------------------------------------- save / load

            private List<Tensor> AllParameters() => _groups.SelectMany(g => g.Parameters).ToList();

            /// <summary>
            /// The per-parameter state as a flat map of NEW tensors (copies; the caller disposes them, a dispose scope
            /// does): <c>state.&lt;i&gt;.&lt;name&gt;</c> where <c>i</c> is the parameter's index over all groups in order
            /// and <c>name</c> is e.g. <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>, <c>momentum_buffer</c>,
            /// or <c>step</c> (an int64 scalar). Ready for a safetensors-like checkpoint.
            /// </summary>
            public Dictionary<string, Tensor> StateTensors()
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                var all = AllParameters();
                using (no_grad())
                {
                    for (int i = 0; i < all.Count; i++)
                    {
                        if (!_state.TryGetValue(all[i], out var s)) continue;
                        if (TracksStep) d[$"state.{i}.step"] = tensor(s.step);
                        foreach (var (k, t) in s.Buffers)
                        {
                            using var view = t.detach();
                            d[$"state.{i}.{k}"] = view.clone();
                        }
                    }
                }
                return d;
            }

            /// <summary>The optimizer's name, defaults and each group's hyper-parameters and parameter indices (JSON-able).</summary>
            public OptimizerHyperParameters HyperParameters()
            {
                var groups = new List<ParamGroupRecord>();
                int start = 0;
                foreach (var g in _groups)
                {
                    groups.Add(new ParamGroupRecord
                    {
                        name = g.name,
                        @params = Enumerable.Range(start, g.Parameters.Count).ToList(),
                        options = new SortedDictionary<string, double>(g.Options.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
                    });
                    start += g.Parameters.Count;
                }
                return new OptimizerHyperParameters
                {
                    optimizer = Name,
                    defaults = new SortedDictionary<string, double>(_defaults, StringComparer.Ordinal),
                    param_groups = groups,
                };
            }

            /// <summary>Everything needed to resume (PyTorch's <c>optimizer.state_dict()</c>): state tensors (copies) plus hyper-parameters.</summary>
            public OptimizerState state_dict() => new(StateTensors(), HyperParameters());

            /// <summary>Restores a state produced by <see cref="state_dict"/> (of an optimizer built the same way).</summary>
            public void load_state_dict(OptimizerState state)
            {
                ArgumentNullException.ThrowIfNull(state);
                load_state_dict(state.Tensors, state.HyperParameters);
            }

            /// <summary>
            /// Restores the per-parameter state from <paramref name="tensors"/> (the inverse of <see cref="StateTensors"/>;
            /// values are copied, cast to each parameter's dtype) and every group's hyper-parameters from
            /// <paramref name="hyper"/> (including the learning rate, as PyTorch does). Everything is checked before anything
            /// changes: the optimizer type, the number and sizes of the groups, each key and each shape.
            /// </summary>
            public void load_state_dict(IReadOnlyDictionary<string, Tensor> tensors, OptimizerHyperParameters hyper)
            {
                ArgumentNullException.ThrowIfNull(tensors);
                ArgumentNullException.ThrowIfNull(hyper);
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (hyper.optimizer != Name)
                    throw new ArgumentException($"the saved optimizer state is for '{hyper.optimizer}', but this optimizer is {Name}", nameof(hyper));
                if (hyper.param_groups is null || hyper.param_groups.Count != _groups.Count)
                    throw new ArgumentException($"loaded state dict has a different number of parameter groups ({hyper.param_groups?.Count ?? 0}, this optimizer has {_groups.Count})", nameof(hyper));
                for (int gi = 0; gi < _groups.Count; gi++)
                {
                    var saved = hyper.param_groups[gi];
                    if ((saved.@params?.Count ?? 0) != _groups[gi].Parameters.Count)
                        throw new ArgumentException($"loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group {gi}: {saved.@params?.Count ?? 0} saved, {_groups[gi].Parameters.Count} here)", nameof(hyper));
                    if (saved.options is null) throw new ArgumentException($"saved parameter group {gi} has no options", nameof(hyper));
                    foreach (var k in _defaults.Keys)
                        if (!saved.options.ContainsKey(k)) throw new ArgumentException($"saved parameter group {gi} lacks the hyper-parameter '{k}'", nameof(hyper));
                    foreach (var (k, v) in saved.options)
                    {
                        if (!_defaults.ContainsKey(k) && k != "initial_lr") throw new ArgumentException($"saved parameter group {gi} has the unknown hyper-parameter '{k}' for {Name}", nameof(hyper));
                        if (double.IsNaN(v)) throw new ArgumentException($"saved parameter group {gi} has NaN for '{k}'", nameof(hyper));
                    }
                }

                // The saved 'params' lists map saved indices to positions; PyTorch zips them with the current groups in order.
                var all = AllParameters();
                var savedToParam = new Dictionary<int, Tensor>();
                {
                    int pos = 0;
                    foreach (var g in hyper.param_groups)
                        foreach (var idx in g.@params!)
                        {
                            if (!savedToParam.TryAdd(idx, all[pos])) throw new ArgumentException($"saved parameter index {idx} appears twice", nameof(hyper));
                            pos++;
                        }
                }

                var names = StateTensorNames;
                var parsed = new Dictionary<Tensor, (long? step, Dictionary<string, Tensor> buffers)>(ReferenceEqualityComparer.Instance);
                foreach (var (key, t) in tensors)
                {
                    var parts = key.Split('.');
                    if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var idx))
                        throw new ArgumentException($"optimizer state key '{key}' is not of the form state.<index>.<name>", nameof(tensors));
                    if (!savedToParam.TryGetValue(idx, out var p))
                        throw new ArgumentException($"optimizer state key '{key}' refers to parameter {idx}, but the saved groups list only {savedToParam.Count} parameters", nameof(tensors));
                    if (t is null || t.IsInvalid) throw new ArgumentException($"optimizer state tensor '{key}' is null or disposed", nameof(tensors));
                    if (!parsed.TryGetValue(p, out var entry)) parsed[p] = entry = (null, new Dictionary<string, Tensor>(StringComparer.Ordinal));
                    if (parts[2] == "step" && TracksStep)
                    {
                        if (t.numel() != 1) throw new ArgumentException($"optimizer state '{key}' must hold one number, it has shape [{string.Join(", ", t.shape)}]", nameof(tensors));
                        var v = t.is_floating_point() ? Math.Round(t.item<double>()) : t.item<long>();
                        if (v < 0) throw new ArgumentException($"optimizer state '{key}' is negative ({v})", nameof(tensors));
                        parsed[p] = (checked((long)v), entry.buffers);
                        continue;
                    }
                    if (!names.Contains(parts[2]))
                        throw new ArgumentException($"optimizer state key '{key}': {Name} keeps no state named '{parts[2]}' (it keeps: {string.Join(", ", (TracksStep ? new[] { "step" } : Array.Empty<string>()).Concat(names))})", nameof(tensors));
                    if (!t.shape.SequenceEqual(p.shape))
                        throw new ArgumentException($"optimizer state '{key}' has shape [{string.Join(", ", t.shape)}] but parameter {idx} has shape [{string.Join(", ", p.shape)}]", nameof(tensors));
                    entry.buffers[parts[2]] = t;
                }
                if (TracksStep)
                    foreach (var (p, e) in parsed)
                        if (e.step is null) throw new ArgumentException($"optimizer state for parameter {all.IndexOf(p)} has buffers but no 'step'", nameof(tensors));

                // Everything checked: replace the state and the hyper-parameters.
                var fresh = new Dictionary<Tensor, ParamState>(ReferenceEqualityComparer.Instance);
                using (no_grad())
                {
                    foreach (var (p, e) in parsed)
                    {
                        var s = new ParamState { step = e.step ?? 0 };
                        foreach (var (k, src) in e.buffers)
                        {
                            using var cast = src.to(p.dtype);
                            using var view = cast.detach();
                            s.Set(k, view.clone().DetachFromDisposeScope());
                        }
                        fresh[p] = s;
                    }
                }
                foreach (var s in _state.Values) s.Dispose();
                _state.Clear();
                foreach (var (p, s) in fresh) _state[p] = s;
                for (int gi = 0; gi < _groups.Count; gi++)
                {
                    var g = _groups[gi];
                    foreach (var k in g.Options.Keys.ToList()) if (!hyper.param_groups[gi].options!.ContainsKey(k)) g.RemoveOption(k);
                    foreach (var (k, v) in hyper.param_groups[gi].options!) g[k] = v;
                }
            }

            /// <summary>Releases the state tensors (not the parameters).</summary>
            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var s in _state.Values) s.Dispose();
                _state.Clear();
                GC.SuppressFinalize(this);
            }

            public override string ToString() =>
                Name + " (\n" + string.Join("\n", _groups.Select((g, i) => $"Parameter Group {i}\n" +
                    string.Join("\n", g.Options.Select(kv => $"    {kv.Key}: {kv.Value.ToString("R", CultureInfo.InvariantCulture)}")))) + "\n)";
        }

        /// <summary>
        /// The state an optimizer keeps for one parameter: a step count (AdamW) and named tensors (e.g. <c>exp_avg</c>,
        /// <c>momentum_buffer</c>). The tensors belong to the optimizer.
        /// </summary>
        public sealed class ParamState : IDisposable
        {
            private readonly SortedDictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);

            /// <summary>Number of updates applied to this parameter.</summary>
            public long step { get; internal set; }

            /// <summary>The state tensors by name.</summary>
            public IReadOnlyDictionary<string, Tensor> Buffers => _buffers;

            /// <summary>The state tensor <paramref name="name"/>, or null.</summary>
            public Tensor? this[string name] => _buffers.TryGetValue(name, out var t) ? t : null;

            internal void Set(string name, Tensor t)
            {
                if (_buffers.TryGetValue(name, out var old) && !ReferenceEquals(old, t)) old.Dispose();
                _buffers[name] = t;
            }

            public void Dispose()
            {
                foreach (var t in _buffers.Values) t.Dispose();
                _buffers.Clear();
            }
        }

        /// <summary>An optimizer's saved state: tensors (copies, owned by this object) plus hyper-parameters.</summary>
        public sealed class OptimizerState : IDisposable
        {
            public OptimizerState(Dictionary<string, Tensor> tensors, OptimizerHyperParameters hyperParameters)
            {
                Tensors = tensors;
                HyperParameters = hyperParameters;
            }

            /// <summary><c>state.&lt;i&gt;.&lt;name&gt;</c> → tensor.</summary>
            public Dictionary<string, Tensor> Tensors { get; }

            /// <summary>Group hyper-parameters and parameter indices.</summary>
            public OptimizerHyperParameters HyperParameters { get; }

            public void Dispose()
            {
                foreach (var t in Tensors.Values) t.Dispose();
                Tensors.Clear();
            }
        }
    }
}

/// <summary>One saved parameter group: its label, the indices of its parameters and its hyper-parameters.</summary>
public sealed class ParamGroupRecord
{
    /// <summary>The group's label, if it had one.</summary>
    public string? name { get; set; }

    /// <summary>Indices of the group's parameters over all groups (PyTorch's numbering).</summary>
    [JsonPropertyName("params")]
    public List<int>? @params { get; set; }

    /// <summary>Hyper-parameters by name (booleans as 0/1).</summary>
    public SortedDictionary<string, double>? options { get; set; }
}

/// <summary>
/// The JSON-able part of an optimizer's state (PyTorch's <c>state_dict()["param_groups"]</c> plus the optimizer's name
/// and defaults). Serialize with <see cref="ToJson"/>; doubles round-trip exactly.
/// </summary>
public sealed class OptimizerHyperParameters
{
    /// <summary>The optimizer type (e.g. <c>AdamW</c>).</summary>
    public string optimizer { get; set; } = "";

    /// <summary>The defaults given at construction.</summary>
    public SortedDictionary<string, double> defaults { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The groups in order.</summary>
    public List<ParamGroupRecord> param_groups { get; set; } = new();

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    /// <summary>Parses JSON written by <see cref="ToJson"/>; throws <see cref="FormatException"/> naming the problem.</summary>
    public static OptimizerHyperParameters FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<OptimizerHyperParameters>(json) ?? throw new FormatException("optimizer hyper-parameters JSON is 'null'");
        }
        catch (JsonException e)
        {
            throw new FormatException($"optimizer hyper-parameters JSON is invalid: {e.Message}", e);
        }
    }
}
