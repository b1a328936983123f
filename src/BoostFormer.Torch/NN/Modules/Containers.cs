using System.Collections;

namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>Holds submodules in a list, registered as "0", "1", …, so their keys read <c>block.0.1.attention…</c>.</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = new();

    public ModuleList(params T[] modules) : base(nameof(ModuleList<T>))
    {
        foreach (var m in modules) append(m);
    }

    public ModuleList(IEnumerable<T> modules) : this(modules.ToArray()) { }

    public void append(T module)
    {
        register_module(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
    }

    public T this[int index] => _items[index];
    public int Count => _items.Count;
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Runs its modules one after another; children are named "0", "1", … unless names are given.</summary>
public sealed class Sequential : Module<Tensor, Tensor>, IReadOnlyList<Module<Tensor, Tensor>>
{
    private readonly List<Module<Tensor, Tensor>> _items = new();

    public Sequential(params Module<Tensor, Tensor>[] modules) : base(nameof(Sequential))
    {
        foreach (var m in modules) append(m);
    }

    public Sequential(params (string name, Module<Tensor, Tensor> module)[] modules) : base(nameof(Sequential))
    {
        foreach (var (n, m) in modules) { register_module(n, m); _items.Add(m); }
    }

    public void append(Module<Tensor, Tensor> module)
    {
        register_module(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
    }

    public override Tensor forward(Tensor input)
    {
        var x = input.alias();
        foreach (var m in _items)
        {
            var y = m.call(x);
            x.Dispose();
            x = y;
        }
        return x;
    }

    public Module<Tensor, Tensor> this[int index] => _items[index];
    public int Count => _items.Count;
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
