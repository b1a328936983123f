namespace BoostFormer.Torch;

/// <summary>One ATen operator call seen by an <see cref="IOpObserver"/>: its schema name and the shapes involved.</summary>
/// <param name="Name">Qualified operator name, e.g. <c>aten::conv2d</c> or <c>aten::add.Tensor</c>.</param>
/// <param name="InputShapes">Shapes of the tensor arguments, in the order they were passed (optional tensors left out
/// when null; tensor lists are not included).</param>
/// <param name="OutputShape">Shape of the first result when it is a tensor, else null.</param>
public sealed record ObservedOp(string Name, IReadOnlyList<long[]> InputShapes, long[]? OutputShape);

/// <summary>
/// Sees every ATen operator call made through the binding on the thread it is installed on (see
/// <see cref="OpObserver.Install"/>). Used by the profiler (with <c>Module.register_module_forward_hooks</c> for module
/// boundaries); while no observer is installed nothing is recorded and each call costs one thread-static null check.
/// </summary>
public interface IOpObserver
{
    /// <summary>An operator returned successfully.</summary>
    void OnOp(ObservedOp op);
}

/// <summary>Installs an <see cref="IOpObserver"/> on the current thread.</summary>
public static class OpObserver
{
    [ThreadStatic] private static IOpObserver? _current;
    [ThreadStatic] private static List<long[]>? _inputs;

    /// <summary>The observer installed on this thread, or null.</summary>
    public static IOpObserver? Current => _current;

    /// <summary>
    /// Installs <paramref name="observer"/> on this thread until the returned handle is disposed (the previous observer,
    /// if any, is restored then). Observers are per thread: ops run on other threads are not seen.
    /// </summary>
    public static IDisposable Install(IOpObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var previous = _current;
        _current = observer;
        return new Restore(previous);
    }

    private sealed class Restore(IOpObserver? previous) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _current = previous;
        }
    }

    // ---------------------------------------------------------------- hooks called by OpCall (only when Current != null)
    internal static void BeginCall()
    {
        (_inputs ??= new List<long[]>()).Clear();
    }

    // the shape is read at push time, while the caller's tensor is certainly alive
    internal static void NoteInput(IntPtr handle) => (_inputs ??= new List<long[]>()).Add(ShapeOf(handle));

    internal static unsafe void EndCall(Op op, IntPtr stack, long nResults)
    {
        var observer = _current;
        if (observer is null) return;
        var shapes = _inputs is null ? new List<long[]>() : new List<long[]>(_inputs);
        long[]? outShape = null;
        if (nResults > 0 && Native.bf_result_kind(stack, 0) == 1)
        {
            var h = Native.bf_result_tensor(stack, 0);
            if (h != IntPtr.Zero)
            {
                try { outShape = ShapeOf(h); }
                finally { Native.bf_tensor_free(h); }
            }
        }
        _inputs?.Clear();
        observer.OnOp(new ObservedOp(op.Name, shapes, outShape));
    }

    /// <summary>Reports an op that bypasses the dispatcher stack (a direct shim call such as gelu) with one input and its output.</summary>
    internal static void ObserveDirect(string name, IntPtr input, IntPtr output) =>
        _current?.OnOp(new ObservedOp(name, new[] { ShapeOf(input) }, ShapeOf(output)));

    private static unsafe long[] ShapeOf(IntPtr h)
    {
        var n = (int)Native.bf_tensor_dim(h);
        if (n <= 0) return Array.Empty<long>();
        var r = new long[n];
        fixed (long* p = r) Native.Check(Native.bf_tensor_sizes(h, p, n));
        return r;
    }
}
