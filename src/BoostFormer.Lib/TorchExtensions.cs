using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer;

/// <summary>
/// Small conveniences TorchSharp lacks, named as PyTorch users would look for them.
/// </summary>
public static class TorchExtensions
{
    /// <summary>Number of parameter elements (every parameter once; optionally only those that require grad).</summary>
    public static long parameter_count(this nn.Module module, bool trainableOnly = false) =>
        module.parameters().Where(p => !trainableOnly || p.requires_grad).Sum(p => p.numel());

    /// <summary>
    /// PyTorch's <c>named_modules()</c>: the module itself (name "") and then every descendant depth first, with dotted
    /// names. (TorchSharp's <c>named_modules()</c> leaves the module itself out and lists children before grandchildren.)
    /// </summary>
    public static IEnumerable<(string name, nn.Module module)> named_modules_with_root(this nn.Module module, string prefix = "")
    {
        yield return (prefix, module);
        foreach (var (name, child) in module.named_children())
            foreach (var r in child.named_modules_with_root(prefix.Length == 0 ? name : prefix + "." + name))
                yield return r;
    }

    /// <summary>PyTorch's <c>get_submodule</c>: the descendant at a dotted path (e.g. <c>encoder.block.0.1</c>), or null.</summary>
    public static nn.Module? get_submodule(this nn.Module module, string target)
    {
        nn.Module? cur = module;
        foreach (var part in target.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            cur = cur.named_children().FirstOrDefault(c => c.name == part).module;
            if (cur is null) return null;
        }
        return cur;
    }

    /// <summary>The tensor's elements as a managed array, in row-major order (copies; works for any layout).</summary>
    public static T[] ToArray<T>(this Tensor t) where T : unmanaged
    {
        using var c = t.is_contiguous() ? t.alias() : t.contiguous();
        return c.data<T>().ToArray();
    }

    /// <summary>
    /// PyTorch's <c>t.item()</c> as a double for a one-element float tensor of any precision (TorchSharp's <c>item&lt;T&gt;</c>
    /// needs T to match the element type: float for float32, double for float64).
    /// </summary>
    public static double item_as_double(this Tensor t) => t.dtype switch
    {
        ScalarType.Float64 => t.item<double>(),
        ScalarType.Float32 => t.item<float>(),
        _ => Cast(t),
    };

    private static double Cast(Tensor t)
    {
        using var d = t.to_type(ScalarType.Float64);
        return d.item<double>();
    }
}
