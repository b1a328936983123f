using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BoostFormer.Torch;

/// <summary>P/Invoke declarations for the C ABI shim <c>libbfnative.so</c> (see <c>native/</c>).</summary>
internal static unsafe partial class Native
{
    internal const string Lib = "bfnative";

    /// <summary>
    /// Resolves <c>bfnative</c> next to this assembly, so the shim is found from <c>dotnet test</c>, from the CLI, and from a
    /// notebook that <c>#r</c>-references BoostFormer.Torch.dll from another folder.
    /// </summary>
    [ModuleInitializer]
    internal static void RegisterResolver()
    {
        NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib) return IntPtr.Zero;
        var candidates = new List<string>();
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_NATIVE");
        if (!string.IsNullOrEmpty(env)) candidates.Add(env);
        var dir = Path.GetDirectoryName(assembly.Location);
        if (!string.IsNullOrEmpty(dir)) candidates.Add(Path.Combine(dir, "libbfnative.so"));
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "libbfnative.so"));
        var errors = new List<string>();
        foreach (var c in candidates)
        {
            if (!File.Exists(c)) { errors.Add($"{c}: not found"); continue; }
            try { return NativeLibrary.Load(c); }
            catch (Exception e) { errors.Add($"{c}: {e.Message}"); }
        }
        throw new DllNotFoundException(
            "libbfnative.so (the BoostFormer libtorch shim) could not be loaded. It is built by BoostFormer.Torch.csproj with g++ " +
            "and needs Debian's libtorch-dev and libopenblas0-pthread (run the README's setup). Tried: " + string.Join("; ", errors));
    }

    // [SuppressGCTransition] marks entry points that run a few dozen instructions (push one IValue, read metadata, wrap a
    // result handle): they skip the GC-mode switch of an ordinary P/Invoke. None of them blocks, calls back into .NET or runs
    // long; operator calls, frees and anything that can run a kernel keep the normal transition.
    [DllImport(Lib), SuppressGCTransition] internal static extern IntPtr bf_last_error_message();
    [DllImport(Lib)] internal static extern void bf_clear_error();

    [DllImport(Lib)] internal static extern void bf_tensor_free(IntPtr t);
    [DllImport(Lib)] internal static extern IntPtr bf_tensor_alias(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern long bf_tensor_dim(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_tensor_sizes(IntPtr t, long* output, long cap);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_tensor_strides(IntPtr t, long* output, long cap);
    [DllImport(Lib), SuppressGCTransition] internal static extern long bf_tensor_numel(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_tensor_dtype(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_tensor_is_contiguous(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern IntPtr bf_tensor_data_ptr(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_tensor_requires_grad(IntPtr t);
    [DllImport(Lib)] internal static extern int bf_tensor_set_requires_grad(IntPtr t, int v);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_tensor_is_leaf(IntPtr t);
    [DllImport(Lib)] internal static extern IntPtr bf_tensor_grad(IntPtr t);
    [DllImport(Lib)] internal static extern int bf_tensor_set_grad(IntPtr t, IntPtr g);
    [DllImport(Lib)] internal static extern int bf_tensor_backward(IntPtr t, IntPtr grad, int retainGraph, int createGraph);
    [DllImport(Lib)] internal static extern int bf_autograd_grad(IntPtr* outputs, long nOut, IntPtr* gradOutputs, IntPtr* inputs, long nIn,
        int retainGraph, int createGraph, int allowUnused, IntPtr* result);
    [DllImport(Lib)] internal static extern IntPtr bf_tensor_to_string(IntPtr t);
    [DllImport(Lib, CharSet = CharSet.Ansi)] internal static extern IntPtr bf_gelu(IntPtr x, string approximate);
    [DllImport(Lib)] internal static extern IntPtr bf_tensor_from_blob(void* data, long* sizes, long ndim, int dtype, delegate* unmanaged<IntPtr, void> release, IntPtr ctx);
    [DllImport(Lib)] internal static extern void bf_free_string(IntPtr s);

    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_is_grad_enabled();
    [DllImport(Lib)] internal static extern void bf_set_grad_enabled(int v);
    [DllImport(Lib)] internal static extern IntPtr bf_inference_mode_enter();
    [DllImport(Lib)] internal static extern void bf_inference_mode_exit(IntPtr guard);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_is_inference_mode();
    [DllImport(Lib)] internal static extern int bf_manual_seed(ulong seed);
    [DllImport(Lib)] internal static extern void bf_set_num_threads(int n);
    [DllImport(Lib)] internal static extern int bf_get_num_threads();
    [DllImport(Lib)] internal static extern void bf_set_num_interop_threads(int n);
    [DllImport(Lib)] internal static extern IntPtr bf_rng_get_state();
    [DllImport(Lib)] internal static extern int bf_rng_set_state(IntPtr state);
    [DllImport(Lib)] internal static extern IntPtr bf_parallel_info();
    [DllImport(Lib)] internal static extern IntPtr bf_config_info();
    [DllImport(Lib)] internal static extern int bf_profiler_start(int recordShapes);
    [DllImport(Lib)] internal static extern IntPtr bf_profiler_stop();

    [DllImport(Lib, CharSet = CharSet.Ansi)] internal static extern IntPtr bf_op_find(string name, string overload);
    [DllImport(Lib)] internal static extern IntPtr bf_op_schema(IntPtr op);
    [DllImport(Lib)] internal static extern IntPtr bf_stack_new();
    [DllImport(Lib)] internal static extern void bf_stack_free(IntPtr s);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_stack_clear(IntPtr s);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_tensor(IntPtr s, IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_int(IntPtr s, long v);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_double(IntPtr s, double v);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_bool(IntPtr s, int v);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_none(IntPtr s);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_default(IntPtr s);
    [DllImport(Lib, CharSet = CharSet.Ansi)] internal static extern void bf_push_string(IntPtr s, string v);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_int_list(IntPtr s, long* v, long n);
    [DllImport(Lib), SuppressGCTransition] internal static extern void bf_push_double_list(IntPtr s, double* v, long n);
    [DllImport(Lib)] internal static extern void bf_push_bool_list(IntPtr s, byte* v, long n);
    [DllImport(Lib)] internal static extern void bf_push_tensor_list(IntPtr s, IntPtr* v, long n);
    [DllImport(Lib)] internal static extern void bf_push_opt_tensor_list(IntPtr s, IntPtr* v, long n);
    [DllImport(Lib)] internal static extern long bf_op_call(IntPtr op, IntPtr s);
    [DllImport(Lib), SuppressGCTransition] internal static extern int bf_result_kind(IntPtr s, long i);
    [DllImport(Lib), SuppressGCTransition] internal static extern IntPtr bf_result_tensor(IntPtr s, long i);
    [DllImport(Lib)] internal static extern long bf_result_list_len(IntPtr s, long i);
    [DllImport(Lib)] internal static extern IntPtr bf_result_list_item(IntPtr s, long i, long j);
    [DllImport(Lib)] internal static extern int bf_result_scalar(IntPtr s, long i, double* dbl, long* lng);

    /// <summary>Throws <see cref="TorchException"/> with libtorch's message for the last failed call on this thread.</summary>
    internal static Exception LastError()
    {
        var msg = Marshal.PtrToStringUTF8(bf_last_error_message()) ?? "unknown libtorch error";
        bf_clear_error();
        return new TorchException(msg);
    }

    internal static void Check(int rc) { if (rc < 0) throw LastError(); }
    internal static void Check(long rc) { if (rc < 0) throw LastError(); }
    internal static IntPtr Check(IntPtr p) { if (p == IntPtr.Zero) throw LastError(); return p; }

    internal static string TakeString(IntPtr p)
    {
        if (p == IntPtr.Zero) throw LastError();
        try { return Marshal.PtrToStringUTF8(p) ?? ""; }
        finally { bf_free_string(p); }
    }
}
