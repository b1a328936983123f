using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace BoostFormer.Torch;

/// <summary>
/// A handle to an ATen operator, looked up once by its schema name (e.g. <c>aten::conv2d</c> or
/// <c>aten::add.Tensor</c>) and cached. Calls go through libtorch's dispatcher, so autograd and inference mode apply.
/// </summary>
internal sealed class Op
{
    private static readonly ConcurrentDictionary<string, Op> Cache = new();
    // Call sites pass string literals (interned): a reference-keyed cache skips hashing the name on every call.
    private static readonly ConcurrentDictionary<string, Op> ByReference = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Debian's libtorch starts with one intra-op thread; use every core unless BOOSTFORMER_THREADS says otherwise
    /// (torch.set_num_threads can change it later).
    /// </summary>
    static Op()
    {
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_THREADS");
        var n = int.TryParse(env, out var v) && v > 0 ? v : Environment.ProcessorCount;
        Native.bf_set_num_threads(n);
    }
    internal readonly IntPtr Handle;
    internal readonly string Name;

    private Op(string qualified)
    {
        Name = qualified;
        var dot = qualified.IndexOf('.');
        var name = dot < 0 ? qualified : qualified[..dot];
        var overload = dot < 0 ? "" : qualified[(dot + 1)..];
        Handle = Native.Check(Native.bf_op_find(name, overload));
    }

    /// <summary>The operator <paramref name="qualified"/> (<c>aten::name</c> or <c>aten::name.overload</c>).</summary>
    internal static Op Get(string qualified)
    {
        if (ByReference.TryGetValue(qualified, out var op)) return op;
        op = Cache.GetOrAdd(qualified, q => new Op(q));
        if (string.IsInterned(qualified) is { } interned && ReferenceEquals(interned, qualified)) ByReference.TryAdd(qualified, op);
        return op;
    }

    internal string Schema => Native.TakeString(Native.bf_op_schema(Handle));

    /// <summary>Starts a call: push the arguments in schema order, then invoke.</summary>
    internal OpCall Call() => new(this);
}

/// <summary>
/// Builds one boxed operator call on a per-thread native argument stack. Arguments left out at the end take the
/// schema's defaults; <see cref="Default"/> keeps a middle argument at its default.
/// </summary>
internal readonly unsafe struct OpCall
{
    [ThreadStatic] private static StackHolder? _stack;
    private readonly Op _op;
    private readonly IntPtr _s;

    private sealed class StackHolder
    {
        internal readonly IntPtr Ptr = Native.bf_stack_new();
        ~StackHolder() { Native.bf_stack_free(Ptr); }
    }

    internal OpCall(Op op)
    {
        _op = op;
        _s = (_stack ??= new StackHolder()).Ptr;
        Native.bf_stack_clear(_s);
        if (OpObserver.Current is not null) OpObserver.BeginCall();
    }

    // GC.KeepAlive: a temporary argument (e.g. `a.add(randn(3))`) must not be finalized, freeing its handle, while the
    // push reads it; once pushed, the native stack holds its own reference.
    internal OpCall T(torch.Tensor t) { Native.bf_push_tensor(_s, t.Handle); if (OpObserver.Current is not null) OpObserver.NoteInput(t.Handle); GC.KeepAlive(t); return this; }
    internal OpCall T(torch.Tensor? t, bool optional) { if (t is null) Native.bf_push_none(_s); else T(t); return this; }
    internal OpCall I(long v) { Native.bf_push_int(_s, v); return this; }
    internal OpCall I(long? v) { if (v is null) Native.bf_push_none(_s); else Native.bf_push_int(_s, v.Value); return this; }
    internal OpCall D(double v) { Native.bf_push_double(_s, v); return this; }
    internal OpCall D(double? v) { if (v is null) Native.bf_push_none(_s); else Native.bf_push_double(_s, v.Value); return this; }
    internal OpCall B(bool v) { Native.bf_push_bool(_s, v ? 1 : 0); return this; }
    internal OpCall S(Scalar v) { if (v.IsFloating) Native.bf_push_double(_s, v.Double); else if (v.IsBool) Native.bf_push_bool(_s, v.Long != 0 ? 1 : 0); else Native.bf_push_int(_s, v.Long); return this; }
    internal OpCall Str(string v) { Native.bf_push_string(_s, v); return this; }
    internal OpCall Dtype(ScalarType? t) { if (t is null) Native.bf_push_none(_s); else Native.bf_push_int(_s, (long)t.Value); return this; }
    internal OpCall None() { Native.bf_push_none(_s); return this; }
    internal OpCall Default() { Native.bf_push_default(_s); return this; }

    internal OpCall L(ReadOnlySpan<long> v)
    {
        fixed (long* p = v) Native.bf_push_int_list(_s, p, v.Length);
        return this;
    }

    internal OpCall LOpt(long[]? v) => v is null ? None() : L(v);

    internal OpCall DL(ReadOnlySpan<double> v)
    {
        fixed (double* p = v) Native.bf_push_double_list(_s, p, v.Length);
        return this;
    }

    internal OpCall DLOpt(double[]? v) => v is null ? None() : DL(v);

    internal OpCall BL(ReadOnlySpan<bool> v)
    {
        Span<byte> b = stackalloc byte[v.Length];
        for (int i = 0; i < v.Length; i++) b[i] = v[i] ? (byte)1 : (byte)0;
        fixed (byte* p = b) Native.bf_push_bool_list(_s, p, v.Length);
        return this;
    }

    internal OpCall TL(IReadOnlyList<torch.Tensor> v)
    {
        var h = v.Count <= 64 ? stackalloc IntPtr[v.Count] : new IntPtr[v.Count];
        for (int i = 0; i < v.Count; i++) h[i] = v[i].Handle;
        fixed (IntPtr* p = h) Native.bf_push_tensor_list(_s, p, v.Count);
        GC.KeepAlive(v);
        return this;
    }

    internal OpCall OTL(IReadOnlyList<torch.Tensor?> v)
    {
        var h = v.Count <= 64 ? stackalloc IntPtr[v.Count] : new IntPtr[v.Count];
        for (int i = 0; i < v.Count; i++) h[i] = v[i]?.Handle ?? IntPtr.Zero;
        fixed (IntPtr* p = h) Native.bf_push_opt_tensor_list(_s, p, v.Count);
        GC.KeepAlive(v);
        return this;
    }

    private long Run()
    {
        var n = Native.bf_op_call(_op.Handle, _s);
        if (n < 0)
        {
            var e = Native.LastError();
            Native.bf_stack_clear(_s); // drop the argument references now, not at the next call
            throw e;
        }
        if (OpObserver.Current is not null) OpObserver.EndCall(_op, _s, n);
        return n;
    }

    // The native stack keeps the results (and so their storage) alive until cleared: every reader clears it as soon as it
    // has taken its own handles, so disposing a result really frees its memory.
    private void Done() => Native.bf_stack_clear(_s);

    /// <summary>Calls the operator for its side effect (in-place and out= variants).</summary>
    internal void Invoke() { Run(); Done(); }

    /// <summary>Calls the operator and returns its first (tensor) result.</summary>
    internal torch.Tensor Tensor()
    {
        var n = Run();
        try
        {
            if (n < 1) throw new TorchException($"{_op.Name} returned nothing");
            return new torch.Tensor(Native.Check(Native.bf_result_tensor(_s, 0)));
        }
        finally { Done(); }
    }

    /// <summary>Calls an operator that returns two tensors (e.g. <c>max.dim</c>).</summary>
    internal (torch.Tensor, torch.Tensor) Tensor2()
    {
        var n = Run();
        try
        {
            if (n < 2) throw new TorchException($"{_op.Name} returned {n} results, expected 2");
            return (new torch.Tensor(Native.Check(Native.bf_result_tensor(_s, 0))),
                    new torch.Tensor(Native.Check(Native.bf_result_tensor(_s, 1))));
        }
        finally { Done(); }
    }

    /// <summary>Calls an operator that returns a fixed number of tensors; undefined results come back as null.</summary>
    internal torch.Tensor?[] TensorN()
    {
        var n = Run();
        try
        {
            var r = new torch.Tensor?[n];
            for (long i = 0; i < n; i++)
            {
                var h = Native.bf_result_tensor(_s, i);
                r[i] = h == IntPtr.Zero ? null : new torch.Tensor(h);
            }
            return r;
        }
        finally { Done(); }
    }

    /// <summary>Calls an operator that returns <c>Tensor[]</c> (split, chunk, unbind).</summary>
    internal torch.Tensor[] TensorList()
    {
        Run();
        try
        {
            var len = Native.bf_result_list_len(_s, 0);
            if (len < 0) throw Native.LastError();
            var r = new torch.Tensor[len];
            for (long j = 0; j < len; j++) r[j] = new torch.Tensor(Native.Check(Native.bf_result_list_item(_s, 0, j)));
            return r;
        }
        finally { Done(); }
    }

    /// <summary>Calls an operator returning a number (e.g. <c>_local_scalar_dense</c>).</summary>
    internal Scalar Scalar()
    {
        Run();
        try
        {
            double d; long l;
            var kind = Native.bf_result_scalar(_s, 0, &d, &l);
            if (kind < 0) throw Native.LastError();
            return kind == 3 ? new Scalar(d) : kind == 4 ? new Scalar(l != 0) : new Scalar(l);
        }
        finally { Done(); }
    }
}
