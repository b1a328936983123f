using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using MPI;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Distributed;

/// <summary>
/// The process group over MPI: MPICH (Debian's <c>mpich</c>: <c>libmpich.so.12</c> and the Hydra launcher
/// <c>mpiexec.mpich</c>) through the managed MPI.NET 1.4.0 bindings. MPI.NET binds <c>msmpi.dll</c> with Microsoft MPI's
/// integer handles, which are MPICH's ABI (MS-MPI derives from MPICH: MPI_COMM_WORLD 0x44000000, MPI_FLOAT 0x4c00040a,
/// MPI_SUM 0x58000003, a 5-int MPI_Status); a DllImport resolver maps the name to <c>libmpich.so.12</c>
/// (<c>BOOSTFORMER_MPI_LIBRARY</c> overrides it). Open MPI's ABI (pointer handles) does not fit, so ranks started by Open
/// MPI's <c>mpirun</c> are refused with a clear error.
/// <para>
/// Failures: communicators keep MPI's default <c>MPI_ERRORS_ARE_FATAL</c>, and when any rank dies the Hydra launcher
/// kills the others and exits non-zero; a rank that stops with an error calls <see cref="Abort"/>. A rank that hangs is
/// caught by a watchdog thread: when any collective call (all-reduce, broadcast, barrier) has waited longer than
/// <see cref="Timeout"/> (<c>BOOSTFORMER_DIST_TIMEOUT</c> seconds, default 3600 — set it above rank 0's longest evaluation,
/// which the other ranks wait for), it prints which call waited and aborts the job.
/// </para>
/// </summary>
public sealed class MpiDataParallel : IDataParallel, IDisposable
{
    private const int BarrierTag = 0x6266;
    private static bool _resolverSet;
    private static readonly object Gate = new();
    private MPI.Environment? _env;
    private readonly Intracommunicator _world;

    private MpiDataParallel(MPI.Environment env)
    {
        _env = env;
        _world = Communicator.world;
        Rank = _world.Rank;
        WorldSize = _world.Size;
        var t = System.Environment.GetEnvironmentVariable("BOOSTFORMER_DIST_TIMEOUT");
        Timeout = TimeSpan.FromSeconds(t is not null && double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 3600);
        new Thread(Watch) { IsBackground = true, Name = "mpi-watchdog" }.Start();
    }

    private long _since; // Stopwatch timestamp when the current collective started, 0 outside collectives
    private string _op = "";

    private void Enter(string op) { _op = op; Interlocked.Exchange(ref _since, Stopwatch.GetTimestamp()); }
    private void Leave() => Interlocked.Exchange(ref _since, 0);

    private void Watch()
    {
        while (_env is not null)
        {
            Thread.Sleep(250);
            var since = Interlocked.Read(ref _since);
            if (since == 0 || _env is null) continue;
            var waited = Stopwatch.GetElapsedTime(since);
            if (waited <= Timeout) continue;
            Console.Error.WriteLine($"error: rank {Rank}/{WorldSize}: waited {waited.TotalSeconds:F0} s for the other ranks in {_op} (BOOSTFORMER_DIST_TIMEOUT={Timeout.TotalSeconds:F0} s): a rank hangs; aborting the job");
            Abort(1);
        }
    }

    /// <inheritdoc />
    public int Rank { get; }
    /// <inheritdoc />
    public int WorldSize { get; }
    /// <summary>Longest wait in <see cref="Barrier"/> before the job is aborted as hung.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>True when this process was started by an MPI launcher (Hydra's <c>PMI_RANK</c>/<c>PMI_SIZE</c>, or Open MPI's variables).</summary>
    public static bool LaunchedByMpi =>
        System.Environment.GetEnvironmentVariable("PMI_SIZE") is not null || System.Environment.GetEnvironmentVariable("PMI_RANK") is not null
        || System.Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Joins the MPI job this process was launched into (<see cref="LaunchedByMpi"/>). Throws <see cref="InvalidOperationException"/>
    /// with one clear line when the launcher is Open MPI's or MPICH's library cannot be loaded.
    /// </summary>
    public static MpiDataParallel Join()
    {
        if (System.Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null)
            throw new InvalidOperationException("started by Open MPI's mpirun: boostformer's MPI bindings (MPI.NET) speak MPICH's ABI — launch with mpiexec.mpich (Debian package mpich), or use --nproc");
        lock (Gate)
        {
            if (!_resolverSet)
            {
                NativeLibrary.SetDllImportResolver(typeof(MPI.Environment).Assembly, Resolve);
                _resolverSet = true;
            }
        }
        var args = Array.Empty<string>();
        MPI.Environment env;
        try { env = new MPI.Environment(ref args, Threading.Multiple); }
        catch (DllNotFoundException e) { throw new InvalidOperationException($"cannot load MPICH ({LibraryName}): install the Debian package mpich (apt-get install mpich) or set BOOSTFORMER_MPI_LIBRARY — {e.Message.Split('\n')[0]}"); }
        return new MpiDataParallel(env);
    }

    private static string LibraryName => System.Environment.GetEnvironmentVariable("BOOSTFORMER_MPI_LIBRARY") ?? "libmpich.so.12";

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!name.StartsWith("msmpi", StringComparison.OrdinalIgnoreCase)) return IntPtr.Zero;
        return NativeLibrary.TryLoad(LibraryName, out var h) ? h : throw new DllNotFoundException($"{LibraryName} not found");
    }

    private static int Datatype(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => Unsafe.MPI_FLOAT,
        ScalarType.Float64 => Unsafe.MPI_DOUBLE,
        _ => throw new ArgumentException($"MPI collectives take float32 or float64 tensors, not {t.dtype}"),
    };

    private static void Check(Tensor t)
    {
        if (t.device_type != DeviceType.CPU || !t.is_contiguous()) throw new ArgumentException("MPI collectives take contiguous CPU tensors");
        if (t.numel() > int.MaxValue) throw new ArgumentException($"a tensor of {t.numel()} elements is too large for one MPI call");
    }

    /// <inheritdoc />
    public unsafe void AllReduceSum(Tensor t)
    {
        Check(t);
        if (t.numel() == 0) return;
        using var result = empty_like(t);
        Enter("all-reduce");
        try
        {
        fixed (byte* src = t.bytes)
        fixed (byte* dst = result.bytes)
        {
            var rc = Unsafe.MPI_Allreduce((IntPtr)src, (IntPtr)dst, (int)t.numel(), Datatype(t), Unsafe.MPI_SUM, Unsafe.MPI_COMM_WORLD);
            if (rc != 0) throw new InvalidOperationException($"MPI_Allreduce failed (error {rc}) on rank {Rank}");
        }
        }
        finally { Leave(); }
        t.copy_(result);
    }

    /// <inheritdoc />
    public unsafe void Broadcast(Tensor t)
    {
        Check(t);
        if (t.numel() == 0) return;
        Enter("broadcast");
        try
        {
            fixed (byte* p = t.bytes)
            {
                var rc = Unsafe.MPI_Bcast((IntPtr)p, (int)t.numel(), Datatype(t), 0, Unsafe.MPI_COMM_WORLD);
                if (rc != 0) throw new InvalidOperationException($"MPI_Bcast failed (error {rc}) on rank {Rank}");
            }
        }
        finally { Leave(); }
    }

    /// <summary>
    /// A barrier that sleeps while it waits: every rank sends a token to rank 0, which answers all once it has them.
    /// MPI's own collectives poll a core at 100 % while they wait — on a shared machine that would steal the core rank 0
    /// evaluates or writes a checkpoint on. The watchdog aborts the job after <see cref="Timeout"/> (a hung rank).
    /// </summary>
    public void Barrier()
    {
        if (WorldSize == 1) return;
        Enter("barrier");
        try { SleepingBarrier(); }
        finally { Leave(); }
    }

    private void SleepingBarrier()
    {
        if (Rank == 0)
        {
            var pending = Enumerable.Range(1, WorldSize - 1).Select(r => (r, req: (Request)_world.ImmediateReceive<int>(r, BarrierTag))).ToList();
            Await(pending);
            foreach (var r in Enumerable.Range(1, WorldSize - 1).Select(r => _world.ImmediateSend(0, r, BarrierTag)).ToList()) r.Wait();
        }
        else
        {
            _world.ImmediateSend(Rank, 0, BarrierTag).Wait();
            Await(new List<(int, Request)> { (0, _world.ImmediateReceive<int>(0, BarrierTag)) });
        }
    }

    private void Await(List<(int rank, Request req)> pending)
    {
        var sleep = 0;
        while (pending.Count > 0)
        {
            pending.RemoveAll(p => p.req.Test() is not null);
            if (pending.Count == 0) break;
            _op = "barrier (waiting for rank " + string.Join(", ", pending.Select(p => p.rank)) + ")";
            Thread.Sleep(sleep);
            sleep = Math.Min(sleep + 1, 5);
        }
    }

    /// <summary>Stops every rank of the job (MPI_Abort) with <paramref name="code"/>; does not return.</summary>
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Unsafe.MPI_Abort(Unsafe.MPI_COMM_WORLD, code);
        System.Environment.Exit(code);
    }

    /// <summary>Leaves the job (MPI_Finalize) after a <see cref="Barrier"/>, so no rank finalises while another still works.</summary>
    public void Dispose()
    {
        if (_env is null) return;
        Barrier();
        var env = _env;
        _env = null;
        env.Dispose();
    }
}
