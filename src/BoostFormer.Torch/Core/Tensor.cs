using System.Runtime.InteropServices;

namespace BoostFormer.Torch;

public static partial class torch
{
    /// <summary>
    /// A multi-dimensional array owned by libtorch (an <c>at::Tensor</c>). The managed object holds one native
    /// reference, released deterministically by <see cref="Dispose"/> or by the <see cref="DisposeScope"/> it was created in;
    /// the finalizer is only a safety net.
    /// </summary>
    public partial class Tensor : IDisposable
    {
        private IntPtr _handle;
        internal DisposeScope? OwningScope;

        internal Tensor(IntPtr handle)
        {
            if (handle == IntPtr.Zero) throw new ArgumentException("null tensor handle");
            _handle = handle;
            DisposeScope.Current?.Attach(this);
        }

        ~Tensor()
        {
            var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
            if (h != IntPtr.Zero) Native.bf_tensor_free(h);
        }

        /// <summary>The native <c>at::Tensor*</c>.</summary>
        internal IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException("Tensor", "the tensor was disposed (by Dispose or by its DisposeScope)");

        /// <summary>True once the tensor has been disposed (its native handle released).</summary>
        public bool IsInvalid => _handle == IntPtr.Zero;

        /// <summary>Releases the native handle now (and leaves its dispose scope). Safe to call twice.</summary>
        public void Dispose()
        {
            OwningScope?.Remove(this);
            OwningScope = null;
            var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
            if (h != IntPtr.Zero) Native.bf_tensor_free(h);
            GC.SuppressFinalize(this);
        }

        /// <summary>Moves this tensor to the scope enclosing its current one (or out of all scopes).</summary>
        public Tensor MoveToOuterDisposeScope()
        {
            var scope = OwningScope;
            if (scope is null) return this;
            scope.Remove(this);
            OwningScope = null;
            scope.Outer?.Attach(this);
            return this;
        }

        /// <summary>Moves this tensor to <paramref name="scope"/> (it will be disposed with that scope instead).</summary>
        public Tensor MoveToOtherDisposeScope(DisposeScope scope)
        {
            OwningScope?.Remove(this);
            OwningScope = null;
            scope.Attach(this);
            return this;
        }

        /// <summary>Removes this tensor from every dispose scope; the caller is responsible for disposing it.</summary>
        public Tensor DetachFromDisposeScope()
        {
            OwningScope?.Remove(this);
            OwningScope = null;
            return this;
        }

        // ------------------------------------------------------------------ metadata
        public long dim() => Native.bf_tensor_dim(Handle);
        public long Dimensions => dim();

        /// <summary>The sizes of each dimension.</summary>
        public unsafe long[] shape
        {
            get
            {
                var n = (int)Native.bf_tensor_dim(Handle);
                var r = new long[n];
                fixed (long* p = r) Native.Check(Native.bf_tensor_sizes(Handle, p, n));
                return r;
            }
        }

        public long size(int dim)
        {
            var s = shape;
            return s[dim < 0 ? dim + s.Length : dim];
        }

        public unsafe long[] stride()
        {
            var n = (int)Native.bf_tensor_dim(Handle);
            var r = new long[n];
            fixed (long* p = r) Native.Check(Native.bf_tensor_strides(Handle, p, n));
            return r;
        }

        public long numel() => Native.bf_tensor_numel(Handle);
        public long NumberOfElements => numel();
        public ScalarType dtype => (ScalarType)Native.bf_tensor_dtype(Handle);
        public bool is_contiguous() => Native.bf_tensor_is_contiguous(Handle) == 1;
        public bool is_floating_point() => IsFloatingPoint(dtype);
        public long element_size() => ElementSize(dtype);

        // ------------------------------------------------------------------ autograd
        public bool requires_grad
        {
            get => Native.bf_tensor_requires_grad(Handle) == 1;
            set => Native.Check(Native.bf_tensor_set_requires_grad(Handle, value ? 1 : 0));
        }

        public Tensor requires_grad_(bool requires = true) { requires_grad = requires; return this; }
        public bool is_leaf => Native.bf_tensor_is_leaf(Handle) == 1;

        /// <summary>The accumulated gradient (a new handle each call; dispose it or let a scope do it), or null.</summary>
        public Tensor? grad
        {
            get
            {
                var g = Native.bf_tensor_grad(Handle);
                return g == IntPtr.Zero ? null : new Tensor(g);
            }
            set => Native.Check(Native.bf_tensor_set_grad(Handle, value?.Handle ?? IntPtr.Zero));
        }

        /// <summary>Computes the gradient of this tensor w.r.t. graph leaves (PyTorch's <c>Tensor.backward</c>).</summary>
        public void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false) =>
            Native.Check(Native.bf_tensor_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retain_graph ? 1 : 0, create_graph ? 1 : 0));

        // ------------------------------------------------------------------ data access
        /// <summary>
        /// A span over the tensor's own memory (no copy). The tensor must be contiguous and of element type
        /// <typeparamref name="T"/>; the span is valid while the tensor is alive.
        /// </summary>
        public unsafe Span<T> data<T>() where T : unmanaged
        {
            CheckElementType<T>();
            if (!is_contiguous()) throw new InvalidOperationException("data<T>() needs a contiguous tensor; call contiguous() first");
            var p = Native.bf_tensor_data_ptr(Handle);
            if (p == IntPtr.Zero && numel() > 0) throw Native.LastError();
            return new Span<T>((void*)p, checked((int)numel()));
        }

        private void CheckElementType<T>() where T : unmanaged
        {
            var expected = DTypeOf<T>();
            if (dtype != expected && !(dtype == ScalarType.Bool && typeof(T) == typeof(byte)))
                throw new InvalidOperationException($"tensor has dtype {dtype}, not {expected} ({typeof(T).Name})");
        }

        /// <summary>Copies the elements (in row-major order) into a new array.</summary>
        public T[] ToArray<T>() where T : unmanaged
        {
            if (is_contiguous()) return data<T>().ToArray();
            using var c = contiguous();
            return c.data<T>().ToArray();
        }

        public T[] data_array<T>() where T : unmanaged => ToArray<T>();

        /// <summary>The single element as a number.</summary>
        public Scalar item() => Op.Get("aten::item").Call().T(this).Scalar();
        public T item<T>() where T : unmanaged
        {
            var s = item();
            object o = typeof(T) == typeof(float) ? s.ToSingle() : typeof(T) == typeof(double) ? s.ToDouble() :
                typeof(T) == typeof(long) ? s.ToInt64() : typeof(T) == typeof(int) ? s.ToInt32() :
                typeof(T) == typeof(bool) ? s.ToBoolean() : typeof(T) == typeof(byte) ? (byte)s.ToInt64() :
                throw new NotSupportedException(typeof(T).Name);
            return (T)o;
        }

        public override string ToString()
        {
            if (IsInvalid) return "Tensor(disposed)";
            return $"[{string.Join("x", shape)}], type = {dtype}";
        }

        /// <summary>libtorch's printout of the values.</summary>
        public string ToString(bool withValues) => withValues ? Native.TakeString(Native.bf_tensor_to_string(Handle)) : ToString();
    }

    internal static ScalarType DTypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? ScalarType.Float32 :
        typeof(T) == typeof(double) ? ScalarType.Float64 :
        typeof(T) == typeof(long) ? ScalarType.Int64 :
        typeof(T) == typeof(int) ? ScalarType.Int32 :
        typeof(T) == typeof(short) ? ScalarType.Int16 :
        typeof(T) == typeof(byte) ? ScalarType.Byte :
        typeof(T) == typeof(sbyte) ? ScalarType.Int8 :
        typeof(T) == typeof(bool) ? ScalarType.Bool :
        typeof(T) == typeof(Half) ? ScalarType.Float16 :
        throw new NotSupportedException($"no tensor dtype for {typeof(T).Name}");
}
