using System.Runtime.CompilerServices;
using TorchSharp;

namespace BoostFormer;

/// <summary>
/// Starts the tensor engine (TorchSharp over LibTorch, CPU) once per process, before any module or tensor is made: loads
/// the native libraries (<c>torch.InitializeDeviceType(CPU)</c>) and applies <c>BOOSTFORMER_THREADS</c> (intra-op threads;
/// default: LibTorch's own, one per physical core). It runs when this library is loaded (a module initializer), so the
/// CLI, the tests and notebooks that reference the library all start the engine the same way.
/// </summary>
public static class Engine
{
    private static readonly object Gate = new();
    private static bool _started;
    private static Exception? _failure;

    [ModuleInitializer]
    internal static void OnLoad()
    {
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

    private static InvalidOperationException Failure(Exception e) => e is ArgumentException
        ? new InvalidOperationException(e.Message, e)
        : new InvalidOperationException(
            "TorchSharp's native libraries could not be loaded (run scripts/setup.sh, which also patches them for Debian 12's libstdc++): " +
            (e.InnerException?.Message ?? e.Message), e);

    /// <summary>One line: TorchSharp and LibTorch versions and the thread counts.</summary>
    public static string Describe()
    {
        Initialize();
        var ts = typeof(torch).Assembly.GetName().Version;
        return $"TorchSharp {ts?.ToString(3)}, LibTorch {torch.__version__}, intra-op threads {torch.get_num_threads()}, inter-op threads {torch.get_num_interop_threads()}, cores {Environment.ProcessorCount}";
    }
}
