using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using TorchSharp;

namespace BoostFormer;

/// <summary>
/// Starts the tensor engine (TorchSharp over LibTorch, CPU) once per process, before any module or tensor is made: loads
/// the native libraries (<c>torch.InitializeDeviceType(CPU)</c>) and applies <c>BOOSTFORMER_THREADS</c> (intra-op threads;
/// default: LibTorch's own, one per physical core). It runs when this library is loaded (a module initializer), so the
/// CLI, the tests and notebooks that reference the library all start the engine the same way.
/// <para>In a notebook kernel (Polyglot Notebooks, Jupyter's <c>.net-csharp</c>, <c>boostformer notebooks run</c>) the
/// library and TorchSharp are loaded by <c>#r</c> from a build output, without that application's <c>deps.json</c>, so
/// .NET does not know where their native libraries are. Before TorchSharp looks for LibTorch, <see cref="Initialize"/>
/// therefore loads <c>libLibTorchSharp.so</c> by its full path from beside <c>TorchSharp.dll</c>
/// (<c>runtimes/&lt;rid&gt;/native/</c>, else TorchSharp's own <c>cpu/</c> folder), which brings the LibTorch 2.10 beside it.
/// Without that, TorchSharp's first probe (<c>torch_cpu</c> by name) finds any other LibTorch on the loader's path —
/// on Debian with python3-torch, PyTorch 1.13's — and fails. Call <c>Engine.Initialize()</c> in a notebook's first cell,
/// before the first use of <c>torch</c>. A resolver also finds the other native libraries of #r-loaded assemblies
/// (SkiaSharp, SQLite) in <c>runtimes/&lt;rid&gt;/native/</c> beside them.</para>
/// </summary>
public static class Engine
{
    private static readonly object Gate = new();
    private static bool _started;
    private static Exception? _failure;

    [ModuleInitializer]
    internal static void OnLoad()
    {
        RegisterNativeResolver();
        try { Initialize(); }
        catch (Exception) { /* kept in _failure; Initialize() rethrows it with a clear message where it is asked for */ }
    }

    /// <summary>Starts the engine if it has not been started. Throws <see cref="InvalidOperationException"/> with a one-line reason when the native libraries cannot be loaded.</summary>
    public static void Initialize()
    {
        lock (Gate)
        {
            if (_started) return;
            if (_failure is not null) throw Failure(_failure);
            try
            {
                PreloadTorchSharpNative();
                torch.InitializeDeviceType(DeviceType.CPU);
                var env = Environment.GetEnvironmentVariable("BOOSTFORMER_THREADS");
                if (!string.IsNullOrWhiteSpace(env))
                {
                    if (!int.TryParse(env, out var n) || n < 1)
                        throw new ArgumentException($"BOOSTFORMER_THREADS must be a positive whole number, got '{env}'");
                    torch.set_num_threads(n);
                }
                _started = true;
            }
            catch (Exception e)
            {
                _failure = e;
                throw Failure(e);
            }
        }
    }

    private static string NativeRid => $"{(OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux")}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";

    /// <summary>Folders that may hold the native libraries of an assembly loaded from <paramref name="assemblyDir"/>.</summary>
    private static IEnumerable<string> NativeDirs(string assemblyDir) =>
        new[] { Path.Combine(assemblyDir, "runtimes", NativeRid, "native"), assemblyDir };

    /// <summary>Loads libLibTorchSharp (and through its RUNPATH the LibTorch beside it) by full path, when it is there.</summary>
    private static void PreloadTorchSharpNative()
    {
        if (!OperatingSystem.IsLinux()) return;
        var dir = Path.GetDirectoryName(typeof(torch).Assembly.Location);   // typeof: TorchSharp's type initializer does not run
        if (string.IsNullOrEmpty(dir)) return;
        foreach (var candidate in NativeDirs(dir).Append(Path.Combine(dir, "cpu")))
        {
            var lib = Path.Combine(candidate, "libLibTorchSharp.so");
            if (File.Exists(lib))
            {
                NativeLibrary.Load(lib);
                return;
            }
        }
    }

    private static int _resolverRegistered;
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<AssemblyLoadContext, object> Hooked = new();

    /// <summary>
    /// Lets native libraries of assemblies be found in <c>runtimes/&lt;rid&gt;/native/</c> beside the requesting assembly
    /// (runs only after .NET's own probing failed, so applications are unaffected). A notebook kernel loads each
    /// <c>#r</c> assembly into a load context of its own (SkiaSharp, SQLite and TorchSharp each end up in different ones),
    /// so the resolver is attached to every load context, present and future, not only to this library's.
    /// </summary>
    private static void RegisterNativeResolver()
    {
        if (Interlocked.Exchange(ref _resolverRegistered, 1) == 1) return;
        AppDomain.CurrentDomain.AssemblyLoad += (_, e) => Hook(AssemblyLoadContext.GetLoadContext(e.LoadedAssembly));
        Hook(AssemblyLoadContext.Default);
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
            Hook(AssemblyLoadContext.GetLoadContext(a));
    }

    private static void Hook(AssemblyLoadContext? context)
    {
        if (context is null) return;
        lock (Hooked)
        {
            if (Hooked.TryGetValue(context, out _)) return;
            Hooked.Add(context, new object());
        }
        context.ResolvingUnmanagedDll += ResolveNative;
    }

    private static IntPtr ResolveNative(System.Reflection.Assembly assembly, string name)
    {
        var dir = Path.GetDirectoryName(assembly.Location);
        if (string.IsNullOrEmpty(dir)) return IntPtr.Zero;
        var ext = OperatingSystem.IsWindows() ? ".dll" : OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        var prefix = OperatingSystem.IsWindows() ? "" : "lib";
        // DllImport names come with or without the "lib" prefix (TorchSharp: "LibTorchSharp", SkiaSharp: "libSkiaSharp").
        var files = new[] { prefix + name + ext, name + ext, name }.Distinct().ToArray();
        foreach (var candidate in NativeDirs(dir))
            foreach (var f in files)
                if (File.Exists(Path.Combine(candidate, f)) && NativeLibrary.TryLoad(Path.Combine(candidate, f), out var handle))
                    return handle;
        return IntPtr.Zero;
    }

    private static InvalidOperationException Failure(Exception e) => e is ArgumentException
        ? new InvalidOperationException(e.Message, e)
        : new InvalidOperationException(
            "TorchSharp's native libraries could not be loaded (run scripts/setup.sh, which also patches them for Debian 12's libstdc++; " +
            "in a notebook, call Engine.Initialize() in the first cell, before the first use of torch): " +
            (e.InnerException?.Message ?? e.Message), e);

    /// <summary>One line: TorchSharp and LibTorch versions and the thread counts.</summary>
    public static string Describe()
    {
        Initialize();
        var ts = typeof(torch).Assembly.GetName().Version;
        return $"TorchSharp {ts?.ToString(3)}, LibTorch {torch.__version__}, intra-op threads {torch.get_num_threads()}, inter-op threads {torch.get_num_interop_threads()}, cores {Environment.ProcessorCount}";
    }
}
