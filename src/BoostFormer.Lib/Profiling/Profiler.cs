using TorchSharp;

namespace BoostFormer.Profiling;

/// <summary>One module's row in a <see cref="ProfileReport"/>: inclusive of its descendants unless stated.</summary>
/// <param name="Path">Dotted path from <c>named_modules()</c> ("" = the whole model).</param>
/// <param name="Type">The module's type name.</param>
/// <param name="Depth">Number of path components (0 for the root).</param>
/// <param name="Params">Parameters of this module and its descendants.</param>
/// <param name="Counts">Multiply-accumulates and other-op elements of this module and its descendants.</param>
public sealed record ModuleProfile(string Path, string Type, int Depth, long Params, ModuleCounts Counts);

/// <summary>
/// The result of profiling one forward pass: parameter counts and multiply-accumulates per module and in total, by op
/// kind, under a stated convention.
/// </summary>
public sealed class ProfileReport
{
    /// <summary>Model name given to the profiler (free text).</summary>
    public required string Model { get; init; }
    /// <summary>Input shape of the profiled forward, e.g. [1, 3, 512, 512].</summary>
    public required long[] InputShape { get; init; }
    /// <summary>The convention of <see cref="Macs"/> and of each module's headline MACs.</summary>
    public required MacConvention Convention { get; init; }
    /// <summary>Total number of parameters (every parameter once).</summary>
    public required long Params { get; init; }
    /// <summary>Whole-model counts.</summary>
    public required ModuleCounts Total { get; init; }
    /// <summary>Every module that owns parameters or ran ops, in <c>named_modules()</c> order (root first).</summary>
    public required IReadOnlyList<ModuleProfile> Modules { get; init; }

    /// <summary>Total multiply-accumulates under <see cref="Convention"/>.</summary>
    public long Macs => Total.Macs(Convention);
    /// <summary>Convolution + linear multiply-accumulates (thop-style).</summary>
    public long ConvLinearMacs => Total.Macs(MacConvention.ConvLinear);
    /// <summary>Convolution + linear + attention matmul multiply-accumulates.</summary>
    public long AllMacs => Total.Macs(MacConvention.All);

    /// <summary>One-paragraph statement of what is counted.</summary>
    public string ConventionText => ConventionDescription(Convention);

    /// <summary>The text that states a convention (printed with every profile).</summary>
    public static string ConventionDescription(MacConvention c) => c switch
    {
        MacConvention.All => "MACs = multiply-accumulates (1 MAC = 1 multiply + 1 add; the SegFormer paper's \"GFLOPs\" are MACs) of " +
                             "convolutions (output elements × in/groups × kH × kW), linear layers (output elements × in_features) and " +
                             "the attention matrix products QKᵀ and AV (matmul/bmm: batch × M × N × K). Biases, norms, activations, " +
                             "softmax, upsampling, pooling and elementwise ops are not MACs; they are reported separately as element counts.",
        _ => "MACs = multiply-accumulates of convolutions (output elements × in/groups × kH × kW) and linear layers (output elements × " +
             "in_features) only, as thop-style module-hook counters report (attention matmuls are not modules and are left out). " +
             "Biases, norms, activations, softmax, upsampling, pooling and elementwise ops are reported separately as element counts.",
    };
}

/// <summary>
/// Counts parameters and multiply-accumulates of a model by running one real forward pass (inference mode, an input of
/// random normal values) at the requested input size and observing every operator and module call.
/// </summary>
public static class Profiler
{
    /// <summary>
    /// Profiles <paramref name="model"/> (switched to eval mode) on a random input of <paramref name="inputShape"/>
    /// (e.g. [1, 3, 512, 512]); <paramref name="forward"/> runs the model on the input (its result is disposed if it is
    /// disposable).
    /// </summary>
    public static ProfileReport Profile(torch.nn.Module model, Func<torch.Tensor, object?> forward, long[] inputShape,
        MacConvention convention = MacConvention.All, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(forward);
        if (inputShape is null || inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentException($"inputShape must be a non-empty list of positive sizes, got [{string.Join(", ", inputShape ?? Array.Empty<long>())}]", nameof(inputShape));
        var wasTraining = model.training;
        model.eval();
        ProfilingSession session;
        try
        {
            using var scope = torch.NewDisposeScope();
            using var inference = torch.inference_mode();
            var x = torch.randn(inputShape);
            using (session = new ProfilingSession(model))
            {
                var y = forward(x);
                DisposeResult(y);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return BuildReport(model, session, inputShape, convention, name ?? model.GetName());
    }

    /// <summary>Profiles a module with a single tensor input (see <see cref="Profile(torch.nn.Module, Func{torch.Tensor, object?}, long[], MacConvention, string?)"/>).</summary>
    public static ProfileReport Profile<TOut>(torch.nn.Module<torch.Tensor, TOut> model, long[] inputShape,
        MacConvention convention = MacConvention.All, string? name = null) =>
        Profile(model, x => model.call(x), inputShape, convention, name);

    private static void DisposeResult(object? y)
    {
        switch (y)
        {
            case IDisposable d: d.Dispose(); break;
            case System.Collections.IEnumerable e when y is not string:
                foreach (var item in e) if (item is IDisposable d2) d2.Dispose();
                break;
        }
    }

    /// <summary>The module's class name, generic arity removed (<c>ModuleList`1</c> → <c>ModuleList</c>).</summary>
    public static string TypeName(torch.nn.Module m)
    {
        var n = m.GetType().Name;
        var tick = n.IndexOf('`');
        return tick < 0 ? n : n[..tick];
    }

    /// <summary>Turns a session's exclusive counts into a report with inclusive per-module rows.</summary>
    public static ProfileReport BuildReport(torch.nn.Module model, ProfilingSession session, long[] inputShape, MacConvention convention, string name)
    {
        var inclusive = new Dictionary<string, ModuleCounts>();
        var total = new ModuleCounts();
        foreach (var (path, c) in session.Counts)
        {
            total.Add(c);
            // credit the path and every ancestor ("a.b.c" → "a.b.c", "a.b", "a", "")
            var p = path;
            while (true)
            {
                if (!inclusive.TryGetValue(p, out var acc)) inclusive[p] = acc = new ModuleCounts();
                acc.Add(c);
                if (p.Length == 0) break;
                var dot = p.LastIndexOf('.');
                p = dot < 0 ? "" : p[..dot];
            }
        }
        var rows = new List<ModuleProfile>();
        var seen = new HashSet<string>();
        foreach (var (path, m) in model.named_modules_with_root())
        {
            if (!seen.Add(path)) continue;
            var p = m.parameter_count();
            var c = inclusive.GetValueOrDefault(path);
            if (p == 0 && c is null && path.Length > 0) continue;
            rows.Add(new ModuleProfile(path, TypeName(m), path.Length == 0 ? 0 : path.Count(ch => ch == '.') + 1, p, c ?? new ModuleCounts()));
        }
        // paths seen only at run time (modules created on the fly)
        foreach (var (path, c) in inclusive)
            if (!seen.Contains(path))
                rows.Add(new ModuleProfile(path, "?", path.Count(ch => ch == '.') + 1, 0, c));
        return new ProfileReport
        {
            Model = name,
            InputShape = inputShape.ToArray(),
            Convention = convention,
            Params = model.parameter_count(),
            Total = total,
            Modules = rows,
        };
    }
}
