using System.Reflection;

namespace BoostFormer.Torch;

/// <summary>Marks a field that must not be registered as a submodule, parameter or buffer.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class NotAComponentAttribute : Attribute { }

/// <summary>Result of <see cref="torch.nn.Module.load_state_dict"/>: keys the module expected but did not get, and keys it did not know.</summary>
public sealed record LoadStateDictResult(IReadOnlyList<string> missing_keys, IReadOnlyList<string> unexpected_keys);

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Base class of every layer (PyTorch's <c>nn.Module</c>). Submodules, parameters and buffers are registered under
        /// names; <see cref="RegisterComponents"/> registers the fields of the derived class under their field names, so a
        /// field <c>patch_embeddings</c> holding a ModuleList produces state-dict keys <c>patch_embeddings.0.proj.weight</c>.
        /// </summary>
        public abstract class Module : IDisposable
        {
            private readonly List<string> _moduleNames = new();
            private readonly Dictionary<string, Module?> _modules = new();
            private readonly List<string> _paramNames = new();
            private readonly Dictionary<string, Parameter?> _parameters = new();
            private readonly List<string> _bufferNames = new();
            private readonly Dictionary<string, Tensor?> _buffers = new();
            private readonly HashSet<string> _nonPersistent = new();
            private bool _disposed;

            protected Module(string name) { GetName = name; }

            /// <summary>The layer's type name (for printing).</summary>
            public string GetName { get; }

            /// <summary>True in training mode (dropout active, batch norm uses batch statistics).</summary>
            public bool training { get; private set; } = true;

            // ---------------------------------------------------------------- registration
            public void register_module(string name, Module? module)
            {
                if (!_modules.ContainsKey(name)) _moduleNames.Add(name);
                _modules[name] = module;
            }

            public void register_parameter(string name, Parameter? param)
            {
                if (!_parameters.ContainsKey(name)) _paramNames.Add(name);
                _parameters[name] = param;
            }

            /// <summary>Registers persistent state that is not a parameter (e.g. running statistics).</summary>
            public void register_buffer(string name, Tensor? buffer, bool persistent = true)
            {
                buffer?.DetachFromDisposeScope();
                if (!_buffers.ContainsKey(name)) _bufferNames.Add(name);
                _buffers[name] = buffer;
                if (!persistent) _nonPersistent.Add(name); else _nonPersistent.Remove(name);
            }

            /// <summary>
            /// Registers the instance fields of the concrete type (base classes first, in declaration order) that hold a
            /// <see cref="Module"/>, a <see cref="Parameter"/> or another <see cref="Tensor"/> (a buffer), under their field names.
            /// </summary>
            protected void RegisterComponents()
            {
                var types = new Stack<Type>();
                for (var t = GetType(); t != null && t != typeof(Module); t = t.BaseType) types.Push(t);
                foreach (var t in types)
                {
                    foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    {
                        if (f.IsDefined(typeof(NotAComponentAttribute)) || f.Name.Contains('<')) continue;
                        var v = f.GetValue(this);
                        if (typeof(Module).IsAssignableFrom(f.FieldType)) register_module(f.Name, (Module?)v);
                        else if (typeof(Parameter).IsAssignableFrom(f.FieldType)) register_parameter(f.Name, (Parameter?)v);
                        else if (typeof(Tensor).IsAssignableFrom(f.FieldType) && v is not null) register_buffer(f.Name, (Tensor)v);
                    }
                }
            }

            // ---------------------------------------------------------------- traversal
            public IEnumerable<(string name, Module module)> named_children()
            {
                foreach (var n in _moduleNames)
                    if (_modules[n] is { } m) yield return (n, m);
            }

            public IEnumerable<Module> children() => named_children().Select(c => c.module);

            /// <summary>This module (name "") and every descendant, depth first, with dotted names.</summary>
            public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
            {
                yield return (prefix, this);
                foreach (var (n, m) in named_children())
                    foreach (var r in m.named_modules(prefix.Length == 0 ? n : prefix + "." + n))
                        yield return r;
            }

            public IEnumerable<Module> modules() => named_modules().Select(m => m.module);

            public IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
            {
                var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                foreach (var (prefix, m) in recurse ? named_modules() : new[] { ("", this) })
                    foreach (var n in m._paramNames)
                        if (m._parameters[n] is { } p && seen.Add(p))
                            yield return (prefix.Length == 0 ? n : prefix + "." + n, p);
            }

            public IEnumerable<Parameter> parameters(bool recurse = true) => named_parameters(recurse).Select(p => p.parameter);

            public IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true, bool persistentOnly = false)
            {
                foreach (var (prefix, m) in recurse ? named_modules() : new[] { ("", this) })
                    foreach (var n in m._bufferNames)
                        if (m._buffers[n] is { } b && !(persistentOnly && m._nonPersistent.Contains(n)))
                            yield return (prefix.Length == 0 ? n : prefix + "." + n, b);
            }

            public IEnumerable<Tensor> buffers(bool recurse = true) => named_buffers(recurse).Select(b => b.buffer);

            /// <summary>Looks a submodule up by dotted path (e.g. <c>encoder.block.0.1</c>), or null.</summary>
            public Module? get_submodule(string path)
            {
                Module? cur = this;
                foreach (var part in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (cur is null || !cur._modules.TryGetValue(part, out var next)) return null;
                    cur = next;
                }
                return cur;
            }

            /// <summary>Number of parameter elements (optionally only those that require grad).</summary>
            public long parameter_count(bool trainableOnly = false) =>
                parameters().Where(p => !trainableOnly || p.requires_grad).Sum(p => p.numel());

            // ---------------------------------------------------------------- state
            /// <summary>
            /// Parameters and persistent buffers by their PyTorch key. The tensors are the module's own (not copies): do not
            /// dispose them.
            /// </summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var d = new Dictionary<string, Tensor>();
                foreach (var (prefix, m) in named_modules())
                {
                    foreach (var n in m._paramNames)
                        if (m._parameters[n] is { } p) d[prefix.Length == 0 ? n : prefix + "." + n] = p;
                    foreach (var n in m._bufferNames)
                        if (m._buffers[n] is { } b && !m._nonPersistent.Contains(n)) d[prefix.Length == 0 ? n : prefix + "." + n] = b;
                }
                return d;
            }

            /// <summary>
            /// Copies values from <paramref name="source"/> into this module's parameters and buffers (no autograd). A shape
            /// mismatch always throws, naming the key and both shapes; with <paramref name="strict"/> missing or unexpected keys
            /// throw too, listing them.
            /// </summary>
            public LoadStateDictResult load_state_dict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
            {
                var own = state_dict();
                var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
                var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
                var mismatched = new List<string>();
                foreach (var (k, dst) in own)
                {
                    if (!source.TryGetValue(k, out var src)) continue;
                    if (!src.shape.SequenceEqual(dst.shape))
                        mismatched.Add($"size mismatch for {k}: copying a param with shape [{string.Join(", ", src.shape)}] from checkpoint, the shape in current model is [{string.Join(", ", dst.shape)}]");
                }
                var errors = new List<string>();
                if (strict && missing.Count > 0) errors.Add("Missing key(s) in state_dict: " + string.Join(", ", missing.Select(k => $"\"{k}\"")) + ".");
                if (strict && unexpected.Count > 0) errors.Add("Unexpected key(s) in state_dict: " + string.Join(", ", unexpected.Select(k => $"\"{k}\"")) + ".");
                errors.AddRange(mismatched);
                if (errors.Count > 0)
                    throw new ArgumentException($"Error(s) in loading state_dict for {GetName}:\n\t" + string.Join("\n\t", errors));
                using (no_grad())
                {
                    foreach (var (k, dst) in own)
                        if (source.TryGetValue(k, out var src)) dst.copy_(src);
                }
                return new LoadStateDictResult(missing, unexpected);
            }

            // ---------------------------------------------------------------- modes
            /// <summary>Sets training mode on this module and every descendant.</summary>
            public virtual Module train(bool on = true)
            {
                foreach (var (_, m) in named_modules()) m.training = on;
                return this;
            }

            public Module eval() => train(false);

            /// <summary>Clears the gradients of every parameter.</summary>
            public void zero_grad()
            {
                foreach (var p in parameters()) p.grad = null;
            }

            /// <summary>Sets requires_grad on every parameter (e.g. to freeze an encoder).</summary>
            public Module requires_grad_(bool on)
            {
                foreach (var p in parameters()) p.requires_grad = on;
                return this;
            }

            public override string ToString() => GetName;

            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var (_, m) in named_children()) m.Dispose();
                foreach (var n in _paramNames) _parameters[n]?.Dispose();
                foreach (var n in _bufferNames) _buffers[n]?.Dispose();
                GC.SuppressFinalize(this);
            }

            /// <summary>Replaces a registered parameter's tensor (used by loaders that re-create parameters).</summary>
            protected internal void replace_parameter(string name, Parameter p)
            {
                if (!_parameters.ContainsKey(name)) throw new ArgumentException($"{GetName} has no parameter '{name}'");
                _parameters[name]?.Dispose();
                _parameters[name] = p;
            }

            internal IReadOnlyDictionary<string, Module?> ModulesByName => _modules;

            // ---------------------------------------------------------------- global hooks
            private static volatile (Action<Module> pre, Action<Module> post)[] _globalHooks = Array.Empty<(Action<Module>, Action<Module>)>();
            private static readonly object GlobalHooksLock = new();

            internal static bool HasGlobalHooks => _globalHooks.Length > 0;

            /// <summary>
            /// Registers callbacks run around every module <c>call</c> in the process (like PyTorch's
            /// <c>register_module_forward_pre_hook</c>/<c>register_module_forward_hook</c>); <paramref name="post"/> runs even
            /// when forward throws. Used by profilers. Dispose the handle to remove them.
            /// </summary>
            public static IDisposable register_module_forward_hooks(Action<Module> pre, Action<Module> post)
            {
                var entry = (pre, post);
                lock (GlobalHooksLock) _globalHooks = _globalHooks.Append(entry).ToArray();
                return new HookHandle(() =>
                {
                    lock (GlobalHooksLock)
                    {
                        var l = _globalHooks.ToList();
                        l.Remove(entry);
                        _globalHooks = l.ToArray();
                    }
                });
            }

            internal static void RunGlobalPre(Module m) { foreach (var h in _globalHooks) h.pre(m); }
            internal static void RunGlobalPost(Module m) { var hs = _globalHooks; for (int i = hs.Length - 1; i >= 0; i--) hs[i].post(m); }

            /// <summary>
            /// Runs <paramref name="forward"/> between the global module hooks. Modules whose forward has a custom signature
            /// (so no <c>Module&lt;T, TResult&gt;.call</c>) should implement their own <c>call</c> as
            /// <c>InvokeHooked(() =&gt; forward(...))</c> so profilers see them.
            /// </summary>
            protected TResult InvokeHooked<TResult>(Func<TResult> forward)
            {
                if (!HasGlobalHooks) return forward();
                RunGlobalPre(this);
                try { return forward(); }
                finally { RunGlobalPost(this); }
            }
        }

        /// <summary>
        /// A module with a typed forward pass. <c>call</c> runs the global hooks (<see cref="Module.register_module_forward_hooks"/>),
        /// this module's forward pre-hooks, <c>forward</c>, then its forward hooks — always call submodules through
        /// <c>call</c> so profiling and hooks see them.
        /// </summary>
        public abstract class Module<T, TResult> : Module
        {
            private List<Func<Module<T, TResult>, T, T?>>? _preHooks;
            private List<Func<Module<T, TResult>, T, TResult, TResult?>>? _postHooks;

            protected Module(string name) : base(name) { }
            public abstract TResult forward(T input);

            public TResult call(T input)
            {
                if (_preHooks is null && _postHooks is null && !HasGlobalHooks) return forward(input);
                return CallWithHooks(input);
            }

            private TResult CallWithHooks(T input)
            {
                RunGlobalPre(this);
                try
                {
                    if (_preHooks is not null)
                        foreach (var h in _preHooks.ToArray())
                            if (h(this, input) is { } replaced) input = replaced;
                    var result = forward(input);
                    if (_postHooks is not null)
                        foreach (var h in _postHooks.ToArray())
                            if (h(this, input, result) is { } replaced) result = replaced;
                    return result;
                }
                finally { RunGlobalPost(this); }
            }

            /// <summary>Runs <paramref name="hook"/> before every <c>call</c>; a non-null return replaces the input. Dispose the handle to remove it.</summary>
            public IDisposable register_forward_pre_hook(Func<Module<T, TResult>, T, T?> hook)
            {
                (_preHooks ??= new()).Add(hook);
                return new HookHandle(() => { _preHooks?.Remove(hook); if (_preHooks is { Count: 0 }) _preHooks = null; });
            }

            /// <summary>Runs <paramref name="hook"/> after every <c>call</c>; a non-null return replaces the output. Dispose the handle to remove it.</summary>
            public IDisposable register_forward_hook(Func<Module<T, TResult>, T, TResult, TResult?> hook)
            {
                (_postHooks ??= new()).Add(hook);
                return new HookHandle(() => { _postHooks?.Remove(hook); if (_postHooks is { Count: 0 }) _postHooks = null; });
            }
        }

        /// <summary>A module with a two-argument forward pass (hooks: only the global ones apply).</summary>
        public abstract class Module<T1, T2, TResult> : Module
        {
            protected Module(string name) : base(name) { }
            public abstract TResult forward(T1 input1, T2 input2);

            public TResult call(T1 input1, T2 input2)
            {
                if (!HasGlobalHooks) return forward(input1, input2);
                RunGlobalPre(this);
                try { return forward(input1, input2); }
                finally { RunGlobalPost(this); }
            }
        }

        private sealed class HookHandle : IDisposable
        {
            private Action? _remove;
            public HookHandle(Action remove) { _remove = remove; }
            public void Dispose() { Interlocked.Exchange(ref _remove, null)?.Invoke(); }
        }
    }
}
