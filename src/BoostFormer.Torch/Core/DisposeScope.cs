namespace BoostFormer.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost open scope, and disposes them all when the
/// scope is disposed — except those moved out with <see cref="torch.Tensor.MoveToOuterDisposeScope"/> or detached with
/// <see cref="torch.Tensor.DetachFromDisposeScope"/>. Scopes nest; this mirrors TorchSharp's <c>torch.NewDisposeScope()</c>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static List<DisposeScope>? _stack;
    private readonly HashSet<torch.Tensor> _tensors = new(ReferenceEqualityComparer.Instance);
    private bool _disposed;

    private readonly DisposeScope? _outer;

    /// <summary>The nearest enclosing scope that is still open (scopes closed out of order are skipped).</summary>
    internal DisposeScope? Outer
    {
        get
        {
            var o = _outer;
            while (o is not null && o._disposed) o = o._outer;
            return o;
        }
    }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => _disposed;

    internal DisposeScope()
    {
        _stack ??= new List<DisposeScope>();
        _outer = _stack.Count > 0 ? _stack[^1] : null;
        _stack.Add(this);
    }

    internal static DisposeScope? Current => _stack is { Count: > 0 } s ? s[^1] : null;

    /// <summary>Number of live tensors this scope will dispose.</summary>
    public int Count => _tensors.Count;

    /// <summary>TorchSharp's name for <see cref="Count"/>.</summary>
    public int DisposablesCount => _tensors.Count;

    internal void Attach(torch.Tensor t)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DisposeScope), "cannot attach a tensor to a disposed scope");
        t.OwningScope = this;
        _tensors.Add(t);
    }

    internal void Remove(torch.Tensor t) => _tensors.Remove(t);

    /// <summary>Moves the given tensors to the enclosing scope (or out of all scopes); returns the first.</summary>
    public T MoveToOuter<T>(T tensor) where T : torch.Tensor
    {
        tensor.MoveToOuterDisposeScope();
        return tensor;
    }

    public void MoveToOuter(params torch.Tensor[] tensors)
    {
        foreach (var t in tensors) t.MoveToOuterDisposeScope();
    }

    /// <summary>Attaches <paramref name="tensor"/> to this scope (taking it from whatever scope owned it), as TorchSharp's <c>Include</c>.</summary>
    public T Include<T>(T tensor) where T : torch.Tensor
    {
        tensor.MoveToOtherDisposeScope(this);
        return tensor;
    }

    /// <summary>Detaches the given tensors from every scope: the caller now owns them.</summary>
    public void Detach(params torch.Tensor[] tensors)
    {
        foreach (var t in tensors) t.DetachFromDisposeScope();
    }

    /// <summary>Disposes every tensor still attached to this scope.</summary>
    public void DisposeEverything()
    {
        var list = _tensors.ToArray();
        _tensors.Clear();
        foreach (var t in list)
        {
            t.OwningScope = null;
            t.Dispose();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeEverything();
        if (_stack is not null)
        {
            // Scopes normally close in LIFO order; tolerate an out-of-order close by removing this one wherever it is.
            var i = _stack.LastIndexOf(this);
            if (i >= 0) _stack.RemoveAt(i);
        }
    }
}

public static partial class torch
{
    /// <summary>Opens a dispose scope: tensors created until it is disposed are disposed with it.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Runs <paramref name="body"/> in a new dispose scope and moves its result out (TorchSharp's helper of the same name).</summary>
    public static Tensor WrappedTensorDisposeScope(Func<Tensor> body)
    {
        using var scope = NewDisposeScope();
        return body().MoveToOuterDisposeScope();
    }
}
