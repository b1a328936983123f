using System.Runtime.InteropServices;

namespace BoostFormer.Torch;

public static partial class torch
{
    /// <summary>A tensor with a copy of <paramref name="data"/> in the given shape (default: 1-D).</summary>
    public static Tensor tensor<T>(ReadOnlySpan<T> data, long[]? shape = null, bool requires_grad = false) where T : unmanaged
    {
        shape ??= new long[] { data.Length };
        long n = 1;
        foreach (var s in shape) n *= s;
        if (n != data.Length) throw new ArgumentException($"shape [{string.Join(",", shape)}] holds {n} elements but {data.Length} were given", nameof(shape));
        var t = empty(shape, DTypeOf<T>());
        if (typeof(T) == typeof(bool))
        {
            var src = MemoryMarshal.AsBytes(data);
            src.CopyTo(t.data<byte>());
        }
        else data.CopyTo(t.data<T>());
        if (requires_grad) t.requires_grad = true;
        return t;
    }

    public static Tensor tensor<T>(T[] data, long[]? shape = null, bool requires_grad = false) where T : unmanaged => tensor((ReadOnlySpan<T>)data, shape, requires_grad);
    /// <summary>A tensor with a copy of <paramref name="data"/>; no shape means 1-D (pass the span overload an empty shape for a 0-d tensor).</summary>
    public static Tensor tensor<T>(T[] data, params long[] shape) where T : unmanaged => tensor((ReadOnlySpan<T>)data, shape.Length == 0 ? null : shape);
    public static Tensor tensor(float value) => tensor<float>(new ReadOnlySpan<float>(in value), Array.Empty<long>());
    public static Tensor tensor(double value) => tensor<double>(new ReadOnlySpan<double>(in value), Array.Empty<long>());
    public static Tensor tensor(long value) => tensor<long>(new ReadOnlySpan<long>(in value), Array.Empty<long>());
    public static Tensor tensor(int value) => tensor<int>(new ReadOnlySpan<int>(in value), Array.Empty<long>());
    public static Tensor tensor(bool value) => tensor<bool>(new ReadOnlySpan<bool>(in value), Array.Empty<long>());

    public static Tensor tensor(float[,] data) => tensor(Flatten<float>(data), new long[] { data.GetLength(0), data.GetLength(1) });
    public static Tensor tensor(double[,] data) => tensor(Flatten<double>(data), new long[] { data.GetLength(0), data.GetLength(1) });
    public static Tensor tensor(long[,] data) => tensor(Flatten<long>(data), new long[] { data.GetLength(0), data.GetLength(1) });

    private static T[] Flatten<T>(Array a) where T : unmanaged
    {
        var r = new T[a.Length];
        int i = 0;
        foreach (T v in a) r[i++] = v;
        return r;
    }

    /// <summary>
    /// A tensor that shares memory with <paramref name="data"/> (no copy, like PyTorch's <c>torch.as_tensor</c> /
    /// <c>torch.from_numpy</c>): writes through either are seen by the other. The array stays pinned until every tensor
    /// using it (including views) has been disposed. No shape means 1-D.
    /// </summary>
    public static unsafe Tensor as_tensor<T>(T[] data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length == 0) shape = new long[] { data.Length };
        long n = 1;
        foreach (var s in shape) n *= s;
        if (n != data.Length) throw new ArgumentException($"shape [{string.Join(",", shape)}] holds {n} elements but the array has {data.Length}", nameof(shape));
        var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
        try
        {
            fixed (long* ps = shape)
                return new Tensor(Native.Check(Native.bf_tensor_from_blob((void*)pin.AddrOfPinnedObject(), ps, shape.Length, (int)DTypeOf<T>(), &ReleasePin, GCHandle.ToIntPtr(pin))));
        }
        catch
        {
            pin.Free();
            throw;
        }
    }

    [UnmanagedCallersOnly]
    private static void ReleasePin(IntPtr handle) => GCHandle.FromIntPtr(handle).Free();

    /// <summary>A tensor with a copy of <paramref name="data"/> (see <see cref="as_tensor{T}"/> to share memory instead).</summary>
    public static Tensor from_array<T>(T[] data, params long[] shape) where T : unmanaged => tensor((ReadOnlySpan<T>)data, shape.Length == 0 ? null : shape);

    // ---------------------------------------------------------------------- global state
    /// <summary>Seeds the global CPU generator (rand, randn, dropout, init).</summary>
    public static void manual_seed(long seed) => Native.Check(Native.bf_manual_seed(unchecked((ulong)seed)));
    public static void set_num_threads(int n) => Native.bf_set_num_threads(n);
    public static int get_num_threads() => Native.bf_get_num_threads();
    public static void set_num_interop_threads(int n) => Native.bf_set_num_interop_threads(n);
    public static string parallel_info() => Native.TakeString(Native.bf_parallel_info());
    public static string config_info() => Native.TakeString(Native.bf_config_info());

    /// <summary>The global CPU generator's state as a byte tensor (for checkpoints).</summary>
    public static Tensor get_rng_state() => new(Native.Check(Native.bf_rng_get_state()));
    public static void set_rng_state(Tensor state) => Native.Check(Native.bf_rng_set_state(state.Handle));

    public static bool is_grad_enabled() => Native.bf_is_grad_enabled() == 1;
    public static bool is_inference_mode_enabled() => Native.bf_is_inference_mode() == 1;

    /// <summary>Disables gradient recording until disposed (PyTorch's <c>with torch.no_grad():</c>).</summary>
    public static IDisposable no_grad() => new GradModeScope(false);
    /// <summary>Turns gradient recording on or off until disposed (PyTorch's <c>torch.set_grad_enabled</c> as a context).</summary>
    public static IDisposable set_grad_enabled(bool enabled) => new GradModeScope(enabled);
    /// <summary>Enables gradient recording until disposed.</summary>
    public static IDisposable enable_grad() => new GradModeScope(true);

    /// <summary>Inference mode until disposed: no autograd bookkeeping at all (faster than no_grad). Tensors created here
    /// cannot later be used in autograd.</summary>
    public static IDisposable inference_mode() => new InferenceModeScope();

    private sealed class GradModeScope : IDisposable
    {
        private readonly bool _previous;
        private bool _done;
        public GradModeScope(bool enabled) { _previous = is_grad_enabled(); Native.bf_set_grad_enabled(enabled ? 1 : 0); }
        public void Dispose() { if (_done) return; _done = true; Native.bf_set_grad_enabled(_previous ? 1 : 0); }
    }

    private sealed class InferenceModeScope : IDisposable
    {
        private IntPtr _guard = Native.Check(Native.bf_inference_mode_enter());
        public void Dispose()
        {
            var g = Interlocked.Exchange(ref _guard, IntPtr.Zero);
            if (g != IntPtr.Zero) Native.bf_inference_mode_exit(g);
        }
    }

    public static partial class autograd
    {
        /// <summary>Gradients of <paramref name="outputs"/> w.r.t. <paramref name="inputs"/> (torch.autograd.grad); .grad is untouched.</summary>
        public static unsafe Tensor?[] grad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?>? grad_outputs = null,
            bool retain_graph = false, bool create_graph = false, bool allow_unused = false)
        {
            var o = outputs.Select(t => t.Handle).ToArray();
            var g = (grad_outputs ?? outputs.Select(_ => (Tensor?)null).ToList()).Select(t => t?.Handle ?? IntPtr.Zero).ToArray();
            var i = inputs.Select(t => t.Handle).ToArray();
            var r = new IntPtr[i.Length];
            fixed (IntPtr* po = o, pg = g, pi = i, pr = r)
                Native.Check(Native.bf_autograd_grad(po, o.Length, pg, pi, i.Length, retain_graph ? 1 : 0, create_graph ? 1 : 0, allow_unused ? 1 : 0, pr));
            return r.Select(h => h == IntPtr.Zero ? null : new Tensor(h)).ToArray();
        }
    }
}
