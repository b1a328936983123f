using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Profiling;

/// <summary>
/// Records, per module path, the multiply-accumulates and "other" element counts of one or more forward passes run on
/// this thread while the session is open. Module paths are the dotted names from <c>named_modules()</c> of the root; a
/// cost is credited to the innermost module whose <c>call</c> is active (its exclusive cost). Dispose to stop recording.
/// </summary>
/// <remarks>
/// TorchSharp has no operator-level observer, so costs come from two places: (1) forward hooks on every module of the
/// tree, which cost the layers from their input and output shapes (convolutions, linear layers, norms, activations,
/// pooling, upsampling: what thop-style counters see); (2) <see cref="OpCount"/>, through which a module reports the
/// functional products it computes itself (the attention products QKᵀ and AV, their softmax). A functional op that no
/// module reports is not counted.
/// </remarks>
public sealed class ProfilingSession : IDisposable
{
    [ThreadStatic] private static ProfilingSession? _current;

    private readonly Dictionary<nn.Module, string> _paths = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<string> _stack = new();
    private readonly Dictionary<string, ModuleCounts> _counts = new();
    private readonly List<Action> _removers = new();
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private readonly ProfilingSession? _outer;
    private bool _disposed;

    /// <summary>Starts recording on the current thread, naming modules as <paramref name="root"/>'s descendants.</summary>
    public ProfilingSession(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var (name, m) in root.named_modules_with_root())
        {
            if (!_paths.TryAdd(m, name)) continue;
            AddModuleHooks(m);
            if (m is nn.Module<Tensor, Tensor> layer) AddLayerCostHook(layer);
        }
        _outer = _current;
        _current = this;
    }

    /// <summary>The session recording on the calling thread, or null.</summary>
    public static ProfilingSession? Current => _current;

    /// <summary>Exclusive counts per module path ("" = the root, or costs reported outside any module call).</summary>
    public IReadOnlyDictionary<string, ModuleCounts> Counts => _counts;

    private bool OnOwnThread => Environment.CurrentManagedThreadId == _thread && !_disposed;

    private string CurrentPath => _stack.Count == 0 ? "" : _stack.Peek();

    private ModuleCounts Here()
    {
        var path = CurrentPath;
        if (!_counts.TryGetValue(path, out var c)) _counts[path] = c = new ModuleCounts();
        return c;
    }

    internal void AddMacs(MacKind kind, long macs) { if (OnOwnThread) Here().AddMacs(kind, macs); }
    internal void AddOther(string category, long elements) { if (OnOwnThread) Here().AddOther(category, elements); }

    private void AddModuleHooks(nn.Module m) =>
        ModuleHooks.Add(m, mod => { if (OnOwnThread) Enter(mod); }, _ => { if (OnOwnThread) Exit(); }, _removers);

    private void AddLayerCostHook(nn.Module<Tensor, Tensor> layer)
    {
        var remover = layer.register_forward_hook((mod, input, output) =>
        {
            if (OnOwnThread) LayerCost(mod, input, output);
            return output;
        });
        _removers.Add(remover.remove);
    }

    /// <summary>The cost of one call of a standard layer, from its input and output shapes.</summary>
    private void LayerCost(nn.Module m, Tensor input, Tensor output)
    {
        long outNumel = output.numel();
        switch (m)
        {
            case Conv1d or Conv2d or Conv3d:
                {
                    // weight [out, in/groups, k…]: each output element needs in/groups × prod(k) multiply-accumulates
                    var w = m.get_parameter("weight")!.shape;
                    long perOut = 1;
                    for (int i = 1; i < w.Length; i++) perOut *= w[i];
                    Here().AddMacs(MacKind.Conv, outNumel * perOut);
                    break;
                }
            case ConvTranspose1d or ConvTranspose2d or ConvTranspose3d:
                {
                    // weight [in, out/groups, k…]: each input element is scattered to out/groups × prod(k) outputs
                    var w = m.get_parameter("weight")!.shape;
                    long perIn = 1;
                    for (int i = 1; i < w.Length; i++) perIn *= w[i];
                    Here().AddMacs(MacKind.Conv, input.numel() * perIn);
                    break;
                }
            case Linear lin:
                Here().AddMacs(MacKind.Linear, outNumel * lin.weight.shape[1]);
                break;
            case LayerNorm or BatchNorm1d or BatchNorm2d or BatchNorm3d or GroupNorm or InstanceNorm2d:
                Here().AddOther("norm", outNumel);
                break;
            case GELU or ReLU or ReLU6 or SiLU or Sigmoid or Tanh or Hardswish or Hardsigmoid or LeakyReLU or ELU or Mish or Softplus or PReLU:
                Here().AddOther("activation", outNumel);
                break;
            case Softmax or LogSoftmax:
                Here().AddOther("softmax", outNumel);
                break;
            case AvgPool2d or MaxPool2d or AdaptiveAvgPool2d or AdaptiveMaxPool2d or AvgPool1d or MaxPool1d:
                Here().AddOther("pool", outNumel);
                break;
            case Upsample:
                Here().AddOther("upsample", outNumel);
                break;
        }
    }

    private void Enter(nn.Module module)
    {
        if (!_paths.TryGetValue(module, out var path))
        {
            // a module that is not a registered descendant (created on the fly): name it under the caller
            var parent = CurrentPath;
            path = (parent.Length == 0 ? "" : parent + ".") + "<" + module.GetName() + ">";
        }
        _stack.Push(path);
    }

    private void Exit()
    {
        if (_stack.Count > 0) _stack.Pop();
    }

    /// <summary>Stops recording and removes the hooks.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var r in _removers) r();
        _removers.Clear();
        if (ReferenceEquals(_current, this)) _current = _outer;
    }
}

/// <summary>
/// How a module reports the cost of functional operations it computes itself (the profiler sees layers through hooks,
/// not functional calls). Each call is a no-op unless a <see cref="ProfilingSession"/> is recording on this thread.
/// </summary>
public static class OpCount
{
    /// <summary>True while a profiling session records on this thread (skip building arguments otherwise).</summary>
    public static bool Active => ProfilingSession.Current is not null;

    /// <summary>A batched matrix product [batch, m, k] × [batch, k, n]: batch × m × n × k multiply-accumulates (attention QKᵀ, AV).</summary>
    public static void Matmul(long batch, long m, long n, long k) => ProfilingSession.Current?.AddMacs(MacKind.Attention, batch * m * n * k);

    /// <summary>A non-MAC operation producing <paramref name="elements"/> elements, in one of <see cref="OpCounting.OtherCategories"/>.</summary>
    public static void Other(string category, long elements) => ProfilingSession.Current?.AddOther(category, elements);
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
