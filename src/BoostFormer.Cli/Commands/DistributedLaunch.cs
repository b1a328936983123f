using System.Diagnostics;
using BoostFormer.Training.Distributed;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// The launch side of data-parallel training. <c>--nproc N</c> (optionally <c>--hosts a:2,b:2</c>) re-runs the same
/// command under MPICH's launcher, <c>mpiexec.mpich -n N [-hosts …] dotnet boostformer.dll train …</c> without those two
/// options, like torchrun; a process started by <c>mpiexec</c> (by <c>--nproc</c> or by hand, across machines) joins the
/// MPI job as one rank (<see cref="MpiDataParallel"/>). Errors on a rank print one line naming the rank and abort the
/// whole job (MPI_Abort), so no rank is left waiting.
/// </summary>
internal static class DistributedLaunch
{
    /// <summary>The MPI launcher: <c>BOOSTFORMER_MPIEXEC</c>, else <c>mpiexec.mpich</c>.</summary>
    public static string Launcher => Environment.GetEnvironmentVariable("BOOSTFORMER_MPIEXEC") ?? "mpiexec.mpich";

    /// <summary>
    /// If <paramref name="nproc"/> asks for several processes and this process is not an MPI rank yet, runs the command
    /// line under the launcher and returns its exit code; otherwise null (train in this process).
    /// </summary>
    public static int? LaunchIfRequested(int nproc, string? hosts)
    {
        if (nproc < 1) throw new ArgumentException($"--nproc must be at least 1, not {nproc}");
        if (MpiDataParallel.LaunchedByMpi) return null;
        if (nproc == 1 && hosts is null) return null;
        var raw = Environment.GetCommandLineArgs();
        var psi = new ProcessStartInfo(Launcher);
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(nproc.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (hosts is not null) { psi.ArgumentList.Add("-hosts"); psi.ArgumentList.Add(hosts); }
        var self = Environment.ProcessPath ?? "dotnet";
        psi.ArgumentList.Add(self);
        // Under the dotnet host, argument 0 is the entry assembly (boostformer.dll); an apphost is its own executable.
        var first = Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? 0 : 1;
        var rest = raw.Skip(first).ToList();
        var threadsGiven = false;
        for (int i = 0; i < rest.Count; i++)
        {
            var a = rest[i];
            if (a is "--nproc" or "--hosts") { i++; continue; }
            if (a.StartsWith("--nproc=", StringComparison.Ordinal) || a.StartsWith("--hosts=", StringComparison.Ordinal)) continue;
            if (a == "--threads" || a.StartsWith("--threads=", StringComparison.Ordinal)) threadsGiven = true;
            psi.ArgumentList.Add(a);
        }
        // Local ranks share the cores: unless --threads says otherwise, each gets cores / N intra-op threads.
        if (!threadsGiven && hosts is null)
        {
            psi.ArgumentList.Add("--threads");
            psi.ArgumentList.Add(Math.Max(1, Environment.ProcessorCount / nproc).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException($"--nproc needs MPICH's launcher '{Launcher}': install the Debian package mpich (apt-get install mpich) or set BOOSTFORMER_MPIEXEC");
        }
        using (p)
        {
            p.WaitForExit();
            if (p.ExitCode != 0) Console.Error.WriteLine($"error: {nproc}-process training failed ({Launcher} exited with code {p.ExitCode})");
            return p.ExitCode == 0 ? ExitCodes.Success : p.ExitCode == ExitCodes.Usage ? ExitCodes.Usage : ExitCodes.Failure;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> as one rank of the MPI job this process belongs to (or alone, with null, when not
    /// launched by MPI). A rank's error is printed as <c>error: rank R: …</c> and aborts every rank with the verb's exit code.
    /// </summary>
    public static int RunRank(int nproc, Func<IDataParallel?, int> body)
    {
        if (!MpiDataParallel.LaunchedByMpi) return ExitCodes.Run(() => body(null));
        MpiDataParallel group;
        try { group = MpiDataParallel.Join(); }
        catch (InvalidOperationException e) { return ExitCodes.Fail(e.Message, ExitCodes.Failure); }
        if (nproc > 1 && nproc != group.WorldSize)
        {
            Console.Error.WriteLine($"error: rank {group.Rank}: --nproc {nproc} but the MPI job has {group.WorldSize} processes");
            group.Abort(ExitCodes.Usage);
        }
        int code;
        try { code = body(group); }
        catch (Exception e) when (ExitCodes.CodeFor(e) is { } c)
        {
            Console.Error.WriteLine($"error: rank {group.Rank}/{group.WorldSize}: {e.Message}");
            group.Abort(c);
            return c;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: rank {group.Rank}/{group.WorldSize}: {e}");
            group.Abort(ExitCodes.Failure);
            return ExitCodes.Failure;
        }
        group.Dispose();
        return code;
    }
}
