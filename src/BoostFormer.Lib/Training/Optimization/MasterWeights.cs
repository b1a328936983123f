using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// bf16 mixed-precision training with fp32 master weights — what PyTorch users get from <c>torch.autocast("cpu",
/// torch.bfloat16)</c> plus an fp32 optimizer, written out because TorchSharp 0.107 has no autocast. The modules are cast to
/// bfloat16, so the forward and backward passes run in bf16 (oneDNN's AVX512-BF16 kernels on this CPU); a float32 copy of
/// every parameter (the <em>master</em>) is what the optimizer updates:
/// <list type="number">
/// <item>forward and backward on the bf16 modules (the trainer casts the images to bf16 and the logits back to fp32 for the loss);</item>
/// <item><see cref="GradientsToMasters"/>: each bf16 gradient, cast to fp32, becomes its master's gradient (the all-reduce,
/// clipping and the optimizer all see fp32 gradients);</item>
/// <item>the optimizer steps the masters (AdamW's moments in fp32);</item>
/// <item><see cref="MastersToModel"/>: the masters, rounded to bf16, become the modules' weights.</item>
/// </list>
/// Small updates that bf16 (8 significant bits) would round away accumulate in the masters, which is why the weights are kept
/// twice. Checkpoints hold the masters (float32); BatchNorm running statistics live in the bf16 modules.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    private readonly List<nn.Module> _modules = new();
    private readonly List<(string Name, int Module, string Local, Parameter Master)> _pairs = new();

    private MasterWeights() { }

    /// <summary>
    /// Copies every parameter of <paramref name="modules"/> (names prefixed as given) into float32 masters, then casts the
    /// modules to bfloat16. Parameters must be float32 to begin with.
    /// </summary>
    public static MasterWeights CastToBf16(IReadOnlyList<(string Prefix, nn.Module Module)> modules)
    {
        var mw = new MasterWeights();
        foreach (var (prefix, module) in modules)
        {
            var masters = new List<(string name, Parameter master)>();
            using (no_grad())
                foreach (var (name, p) in module.named_parameters())
                {
                    if (p.dtype != ScalarType.Float32) throw new InvalidOperationException($"{prefix}{name} is {p.dtype}, expected float32 before the cast to bfloat16");
                    masters.Add((name, new Parameter(p.detach().clone().DetachFromDisposeScope(), p.requires_grad)));
                }
            module.to(ScalarType.BFloat16);
            mw._modules.Add(module);
            foreach (var (name, master) in masters) mw._pairs.Add((prefix + name, mw._modules.Count - 1, name, master));
        }
        return mw;
    }

    /// <summary>The modules' current parameters with their masters (the cast replaced the parameter objects: looked up by name each time).</summary>
    private IEnumerable<(Parameter Working, Parameter Master)> Pairs()
    {
        var current = _modules.Select(m => m.named_parameters().ToDictionary(x => x.name, x => x.parameter)).ToList();
        return _pairs.Select(p => (current[p.Module][p.Local], p.Master));
    }

    /// <summary>The float32 masters with their (prefixed) names, for the optimizer's parameter groups and gradient clipping.</summary>
    public IReadOnlyList<(string name, Parameter parameter)> Masters => _pairs.Select(p => (p.Name, p.Master)).ToList();

    /// <summary>The master of the parameter named <paramref name="name"/> (prefixed), or null.</summary>
    public Parameter? Master(string name) => _pairs.FirstOrDefault(p => p.Name == name).Master;

    /// <summary>
    /// Moves the gradients of the bf16 modules to the masters, as float32 (a parameter without a gradient leaves its master
    /// without one), and clears the modules' gradients.
    /// </summary>
    public void GradientsToMasters()
    {
        using var _ = no_grad();
        foreach (var (w, master) in Pairs())
        {
            var g = w.grad;
            if (g is null) continue;
            var g32 = g.to_type(ScalarType.Float32).DetachFromDisposeScope();
            var old = master.grad;
            master.grad = g32;
            old?.Dispose();
            w.grad = null;
            g.Dispose();
        }
    }

    /// <summary>Rounds the masters to bfloat16 into the modules' parameters (after each optimizer step, and after the masters were loaded).</summary>
    public void MastersToModel()
    {
        using var _ = no_grad();
        foreach (var (w, master) in Pairs()) w.copy_(master);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, _, _, master) in _pairs)
        {
            master.grad?.Dispose();
            master.Dispose();
        }
        _pairs.Clear();
    }
}
