using System.Diagnostics;
using System.Reflection;
using BoostFormer.Models;
using BoostFormer.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Profiling;

/// <summary>Where a forward pass spends its time, for one module type or one module: self time (its own work, its children's excluded) and MACs.</summary>
/// <param name="Key">The module type (e.g. <c>Conv2d</c>, <c>SegformerEfficientSelfAttention</c>) or the module path.</param>
/// <param name="Modules">Modules counted under the key.</param>
/// <param name="SelfMs">Self time per forward, milliseconds (its sub-modules' time excluded; the functional work it does itself included).</param>
/// <param name="Share">SelfMs as a fraction of the whole forward.</param>
/// <param name="GMacs">Its own multiply-accumulates per forward (every operation counted), 10⁹.</param>
/// <param name="GMacPerSecond">GMacs / self time: how well the engine runs this kind of work (low for pooling, norms and depthwise convolutions).</param>
public sealed record ModuleTime(string Key, int Modules, double SelfMs, double Share, double GMacs, double GMacPerSecond);

/// <summary>The result of <see cref="ModuleTimer.Measure"/>: the mean forward time and its split by module type and by module.</summary>
public sealed record ModuleTimeReport(string Model, double ForwardMs, int Runs, int Threads, IReadOnlyList<ModuleTime> ByType, IReadOnlyList<ModuleTime> ByModule)
{
    /// <summary>The <paramref name="top"/> module types by self time as aligned text lines (a header first).</summary>
    public IEnumerable<string> Lines(int top)
    {
        yield return FormattableString.Invariant($"{Model}: {ForwardMs:F1} ms per forward ({Runs} timed, {Threads} threads); self time by module type:");
        yield return FormattableString.Invariant($"  {"module type",-44} {"n",4} {"self ms",9} {"share",6} {"GMAC",7} {"GMAC/s",7}");
        foreach (var t in ByType.Take(top))
            yield return FormattableString.Invariant($"  {t.Key,-44} {t.Modules,4} {t.SelfMs,9:F1} {t.Share,6:P0} {t.GMacs,7:F2} {t.GMacPerSecond,7:F1}");
    }
}

/// <summary>Tables and charts of <see cref="ModuleTimeReport"/>s, side by side.</summary>
public static class ModuleTimeReports
{
    /// <summary>
    /// One row per module type among the <paramref name="top"/> most time-consuming of any report: each report's self ms,
    /// share of its forward and own GMAC — how the time and the MACs of models compare kind by kind.
    /// </summary>
    public static Table Compare(IReadOnlyList<ModuleTimeReport> reports, int top = 10, string? title = null)
    {
        if (reports.Count == 0) throw new ArgumentException("no reports to compare", nameof(reports));
        if (reports.Select(r => r.Model).Distinct().Count() != reports.Count) throw new ArgumentException("reports to compare need distinct model names", nameof(reports));
        var keys = reports.SelectMany(r => r.ByType.Take(top)).GroupBy(t => t.Key)
            .OrderByDescending(g => g.Max(t => t.SelfMs)).Select(g => g.Key).ToList();
        var headers = new List<string> { "module type" };
        foreach (var r in reports) headers.AddRange(new[] { $"{r.Model}: self ms", $"{r.Model}: share", $"{r.Model}: GMAC" });
        var rows = keys.Select(k => (IReadOnlyList<object?>)reports.SelectMany(r => r.ByType.FirstOrDefault(t => t.Key == k) is { } t
                ? new object?[] { Math.Round(t.SelfMs, 1), $"{t.Share:P0}", Math.Round(t.GMacs, 2) }
                : new object?[] { null, null, null }).Prepend(k).ToList())
            .Append(reports.SelectMany(r => new object?[] { Math.Round(r.ForwardMs, 1), "100 %", Math.Round(r.ByType.Sum(t => t.GMacs), 2) }).Prepend("(whole forward)").ToList())
            .ToList();
        return new Table(headers, rows, title);
    }

    /// <summary>Self time per module type, a bar group per type and a colour per model (the <paramref name="top"/> types of any report).</summary>
    public static Chart ToChart(IReadOnlyList<ModuleTimeReport> reports, int top = 10)
    {
        var keys = reports.SelectMany(r => r.ByType.Take(top)).GroupBy(t => t.Key).OrderByDescending(g => g.Max(t => t.SelfMs)).Select(g => g.Key).ToList();
        return Chart.Combine(reports.Select(r => Chart.Bar(keys, keys.Select(k => r.ByType.FirstOrDefault(t => t.Key == k)?.SelfMs ?? 0), name: r.Model)))
            .WithTitle("Where the forward time goes: self time per module type").WithYTitle("self ms per forward").WithSize(860, 440);
    }
}

/// <summary>
/// A per-module time profile of a forward pass. TorchSharp has no binding of LibTorch's autograd profiler (the engine
/// issue replaced the C++ shim that had one), so this times modules instead: forward pre/post hooks on every module take
/// a <see cref="Stopwatch"/> reading, and each module's self time is its call's time minus its sub-modules' (CPU kernels
/// run synchronously, so wall time is the work's time). Beside the MAC counts of <see cref="Profiler"/> it shows which
/// kinds of work cost more time than their share of MACs — the reason a model with fewer MACs need not be faster.
/// </summary>
public static class ModuleTimer
{
    /// <summary>
    /// Times <paramref name="runs"/> forwards of <paramref name="model"/> on a random input of <paramref name="inputShape"/>
    /// (inference mode, after <paramref name="warmup"/> untimed ones) with every module hooked, and splits the mean forward
    /// time by module type and by module; <paramref name="macs"/> (a <see cref="Profiler"/> report of the same model and
    /// path) supplies the MACs (its inclusive rows turned into each module's own).
    /// </summary>
    public static ModuleTimeReport Measure(nn.Module model, Func<Tensor, object?> forward, long[] inputShape, ProfileReport macs, int warmup = 2, int runs = 5,
        int? threads = null, ScalarType dtype = ScalarType.Float32, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(macs);
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be ≥ 1");
        if (warmup > 0) LatencyBenchmark.Measure(model, forward, inputShape, warmup - 1, 1, threads, dtype);
        var self = new Dictionary<string, double>();
        var types = new Dictionary<string, string>();
        LatencyResult timed;
        using (var hooks = new TimingHooks(model, self, types))
            timed = LatencyBenchmark.Measure(model, forward, inputShape, 0, runs, threads, dtype);
        var forwardMs = timed.MeanMs;
        // The root's self time is everything outside its sub-modules: the time the hooks saw outside any module call too.
        var measured = self.Values.Sum() / runs;
        self[""] = self.GetValueOrDefault("") + Math.Max(0, forwardMs - measured) * runs;
        types[""] = Profiler.TypeName(model);
        // The report's rows are inclusive: a module's own MACs are its row minus its direct children's rows.
        var inclusive = macs.Modules.GroupBy(m => m.Path).ToDictionary(g => g.Key, g => g.First().Counts.Macs(MacConvention.All) / 1e9);
        var macsByPath = inclusive.ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (path, g) in inclusive)
            if (path.Length > 0)
            {
                var dot = path.LastIndexOf('.');
                var parent = dot < 0 ? "" : path[..dot];
                if (macsByPath.ContainsKey(parent)) macsByPath[parent] -= g;
            }
        foreach (var key in macsByPath.Keys.ToList()) macsByPath[key] = Math.Max(0, macsByPath[key]);   // rounding of the subtraction, never below 0
        ModuleTime Row(string key, IEnumerable<string> paths)
        {
            var list = paths.ToList();
            var ms = list.Sum(p => self.GetValueOrDefault(p)) / runs;
            var g = list.Sum(p => macsByPath.GetValueOrDefault(p));
            return new ModuleTime(key, list.Count, ms, forwardMs > 0 ? ms / forwardMs : 0, g, ms > 0 ? g / (ms / 1000) : 0);
        }
        var byType = types.GroupBy(kv => kv.Value).Select(g => Row(g.Key, g.Select(kv => kv.Key))).OrderByDescending(r => r.SelfMs).ToList();
        var byModule = types.Keys.Select(p => Row(p.Length == 0 ? "(root)" : p, new[] { p })).OrderByDescending(r => r.SelfMs).ToList();
        return new ModuleTimeReport(name ?? macs.Model, forwardMs, runs, timed.Threads, byType, byModule);
    }

    /// <summary>Pre/post forward hooks on every module that accumulate each module's self time (ticks → ms) by path.</summary>
    private sealed class TimingHooks : IDisposable
    {
        private readonly List<Action> _removers = new();
        private readonly Stack<(string path, long start, long children)> _stack = new();
        private readonly Dictionary<string, double> _self;
        private readonly int _thread = Environment.CurrentManagedThreadId;

        public TimingHooks(nn.Module root, Dictionary<string, double> self, Dictionary<string, string> types)
        {
            _self = self;
            var paths = new Dictionary<nn.Module, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, m) in root.named_modules_with_root())
            {
                if (!paths.TryAdd(m, name)) continue;
                types[name] = Profiler.TypeName(m);
                var path = name;
                ModuleHooks.Add(m, _ => { if (Environment.CurrentManagedThreadId == _thread) _stack.Push((path, Stopwatch.GetTimestamp(), 0)); },
                    _ => { if (Environment.CurrentManagedThreadId == _thread) Exit(); }, _removers);
            }
        }

        private void Exit()
        {
            if (_stack.Count == 0) return;
            var (path, start, children) = _stack.Pop();
            var total = Stopwatch.GetTimestamp() - start;
            _self[path] = _self.GetValueOrDefault(path) + (total - children) * 1000.0 / Stopwatch.Frequency;
            if (_stack.Count > 0) { var p = _stack.Pop(); _stack.Push((p.path, p.start, p.children + total)); }
        }

        public void Dispose()
        {
            foreach (var r in _removers) r();
            _removers.Clear();
        }
    }
}

/// <summary>Forward pre/post hooks on any TorchSharp module with a forward, whatever its argument types.</summary>
internal static class ModuleHooks
{
    // Every TorchSharp module with a forward (Module<T, TResult>, Module<T1, T2, TResult>, …) derives from
    // HookableModule<TPre, TPost>, which takes Action<Module> pre/post hooks; ModuleList and friends are never called.
    private static readonly Type HookableDefinition = typeof(nn.HookableModule<,>);

    /// <summary>Registers <paramref name="pre"/> and <paramref name="post"/> on <paramref name="m"/> (nothing when it has no forward) and adds their removers.</summary>
    public static void Add(nn.Module m, Action<nn.Module> pre, Action<nn.Module> post, List<Action> removers)
    {
        var t = m.GetType();
        while (t is not null && !(t.IsGenericType && t.GetGenericTypeDefinition() == HookableDefinition)) t = t.BaseType;
        if (t is null) return;
        var preHook = t.GetMethod("register_forward_pre_hook", new[] { typeof(Action<nn.Module>) });
        var postHook = t.GetMethod("register_forward_hook", new[] { typeof(Action<nn.Module>) });
        if (preHook is null || postHook is null) return;
        var preRemover = preHook.Invoke(m, new object[] { pre });
        var postRemover = postHook.Invoke(m, new object[] { post });
        foreach (var r in new[] { preRemover, postRemover })
        {
            var remove = r?.GetType().GetMethod("remove", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
            if (remove is not null) removers.Add(() => remove.Invoke(r, null));
        }
    }
}
