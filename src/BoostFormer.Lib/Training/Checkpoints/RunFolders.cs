using System.Globalization;

namespace BoostFormer.Training.Checkpoints;

/// <summary>
/// The folders runs write their checkpoints to: one per run (<c>&lt;parent&gt;/run-&lt;id&gt;</c>) when the output folder is
/// not given, and a lock (<c>.lock</c>, held for the whole run) so that two processes never write the same folder.
/// </summary>
public static class RunFolders
{
    private const string Prefix = "run-";

    /// <summary>
    /// The newest run folder under <paramref name="parent"/> that holds a complete checkpoint (or <paramref name="parent"/>
    /// itself when it holds checkpoints directly, as runs written before one folder per run did); null when there is none.
    /// </summary>
    public static string? NewestWithCheckpoint(string parent)
    {
        if (!Directory.Exists(parent)) return null;
        var runs = Directory.EnumerateDirectories(parent, Prefix + "*")
            .Select(d => (dir: d, id: long.TryParse(Path.GetFileName(d).AsSpan(Prefix.Length).ToString().Split('-')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1))
            .Where(x => x.id >= 0).OrderByDescending(x => x.id).ThenByDescending(x => x.dir, StringComparer.Ordinal);
        foreach (var (dir, _) in runs)
            if (new CheckpointManager(dir).Latest() is not null) return dir;
        return new CheckpointManager(parent).Latest() is not null ? parent : null;
    }

    /// <summary>Creates the folder of run <paramref name="runId"/> under <paramref name="parent"/> (a fresh one if that name is taken).</summary>
    public static string Create(string parent, long runId)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{runId}");
        var dir = Path.Combine(parent, name);
        for (int n = 2; Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any(); n++)
            dir = Path.Combine(parent, string.Create(CultureInfo.InvariantCulture, $"{name}-{n}"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Takes the folder for one run: an exclusive lock (released when the returned handle is disposed, or when the process
    /// dies) that another process writing the same folder does not get, and — unless <paramref name="resuming"/> — the
    /// check that no other run left checkpoints there. Both refusals are <see cref="ArgumentException"/>s naming the folder.
    /// </summary>
    public static IDisposable Lock(string folder, bool resuming)
    {
        Directory.CreateDirectory(folder);
        var lockPath = Path.Combine(folder, ".lock");
        FileStream handle;
        try { handle = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException)
        {
            throw new ArgumentException($"output folder {folder} is in use by another training run (its {lockPath} is locked); " +
                "give this run another --name or --output");
        }
        if (!resuming && Directory.EnumerateFiles(folder, "*.safetensors").Select(Path.GetFileName).FirstOrDefault() is { } existing)
        {
            handle.Dispose();
            throw new ArgumentException($"output folder {folder} already holds checkpoints of another run ({existing}); " +
                "pass --resume to continue that run, or give this run another --name or --output");
        }
        return handle;
    }
}
