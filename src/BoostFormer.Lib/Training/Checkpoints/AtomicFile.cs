using System.Text;

namespace BoostFormer.Training.Checkpoints;

/// <summary>Atomic file replacement: write to <c>&lt;path&gt;.tmp-&lt;guid&gt;</c>, flush to disk, rename over the target.</summary>
public static class AtomicFile
{
    /// <summary>Writes through <paramref name="write"/> and renames the result to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Writes text atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, fs => { var b = Encoding.UTF8.GetBytes(text); fs.Write(b); });
}
