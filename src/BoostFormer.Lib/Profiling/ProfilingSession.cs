using BoostFormer.Torch;

namespace BoostFormer.Profiling;

/// <summary>
/// Records, per module path, the multiply-accumulates and "other" element counts of every operator run on this thread
/// while the session is open. Module paths are the dotted names from <c>named_modules()</c> of the root; an op runs "in"
/// the innermost module whose <c>call</c> is active (its exclusive cost). Dispose to stop recording.
/// </summary>
public sealed class ProfilingSession : IOpObserver, IDisposable
{
    private readonly Dictionary<torch.nn.Module, string> _paths = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<string> _stack = new();
    private readonly Dictionary<string, ModuleCounts> _counts = new();
    private readonly Dictionary<string, long> _unclassified = new();
    private readonly IDisposable _install;
    private readonly IDisposable _hooks;
    private readonly int _thread = Environment.CurrentManagedThreadId;

    /// <summary>Starts recording on the current thread, naming modules as <paramref name="root"/>'s descendants.</summary>
    public ProfilingSession(torch.nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var (name, m) in root.named_modules()) _paths.TryAdd(m, name);
        _install = OpObserver.Install(this);
        // module hooks are process-wide: only follow calls made on this session's thread
        _hooks = torch.nn.Module.register_module_forward_hooks(
            m => { if (Environment.CurrentManagedThreadId == _thread) EnterModule(m); },
            m => { if (Environment.CurrentManagedThreadId == _thread) ExitModule(); });
    }

    /// <summary>Exclusive counts per module path ("" = the root, or ops run outside any module call).</summary>
    public IReadOnlyDictionary<string, ModuleCounts> Counts => _counts;

    /// <summary>Operators that the profiler could not classify (bare name → calls); their elements are under "misc".</summary>
    public IReadOnlyDictionary<string, long> Unclassified => _unclassified;

    private string CurrentPath => _stack.Count == 0 ? "" : _stack.Peek();

    private void EnterModule(torch.nn.Module module)
    {
        if (!_paths.TryGetValue(module, out var path))
        {
            // a module that is not a registered descendant (created on the fly): name it under the caller
            var parent = CurrentPath;
            path = (parent.Length == 0 ? "" : parent + ".") + "<" + module.GetName + ">";
        }
        _stack.Push(path);
    }

    private void ExitModule()
    {
        if (_stack.Count > 0) _stack.Pop();
    }

    void IOpObserver.OnOp(ObservedOp op)
    {
        var (kind, macs, other, elements) = OpCounting.Cost(op.Name, op.InputShapes, op.OutputShape);
        if (kind is null && other is null) return;
        var path = CurrentPath;
        if (!_counts.TryGetValue(path, out var c)) _counts[path] = c = new ModuleCounts();
        if (kind is { } k) c.AddMacs(k, macs);
        else if (other is not null)
        {
            c.AddOther(other, elements);
            if (other == "misc")
            {
                var bare = OpCounting.BareName(op.Name);
                _unclassified[bare] = _unclassified.GetValueOrDefault(bare) + 1;
            }
        }
    }

    /// <summary>Stops recording.</summary>
    public void Dispose()
    {
        _hooks.Dispose();
        _install.Dispose();
    }
}

/// <summary>Multiply-accumulates by <see cref="MacKind"/> and other-op element counts by category.</summary>
public sealed class ModuleCounts
{
    private readonly long[] _macs = new long[Enum.GetValues<MacKind>().Length];
    private readonly Dictionary<string, long> _other = new();

    /// <summary>Multiply-accumulates of <paramref name="kind"/>.</summary>
    public long Macs(MacKind kind) => _macs[(int)kind];

    /// <summary>Multiply-accumulates counted under <paramref name="convention"/>.</summary>
    public long Macs(MacConvention convention) =>
        Macs(MacKind.Conv) + Macs(MacKind.Linear) + (convention == MacConvention.All ? Macs(MacKind.Attention) : 0);

    /// <summary>Element counts of the non-MAC operators, by category (see <see cref="OpCounting.OtherCategories"/>).</summary>
    public IReadOnlyDictionary<string, long> Other => _other;

    /// <summary>Sum of <see cref="Other"/>.</summary>
    public long OtherTotal => _other.Values.Sum();

    internal void AddMacs(MacKind kind, long macs) => _macs[(int)kind] += macs;
    internal void AddOther(string category, long elements) => _other[category] = _other.GetValueOrDefault(category) + elements;

    internal void Add(ModuleCounts o)
    {
        for (int i = 0; i < _macs.Length; i++) _macs[i] += o._macs[i];
        foreach (var (k, v) in o._other) AddOther(k, v);
    }
}
