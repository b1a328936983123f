using System.IO.Compression;

namespace BoostFormer.Data;

/// <summary>One split's check: how many samples were found against the official count.</summary>
public sealed record SplitCheck(string Split, int Found, int Expected)
{
    /// <summary>Samples that failed to decode and were skipped (<c>--skip-bad</c>); they are not counted in <see cref="Good"/>.</summary>
    public int Bad { get; init; }
    /// <summary>Samples found and readable.</summary>
    public int Good => Found - Bad;
    public bool Complete => Found == Expected && Bad == 0;
    public override string ToString() =>
        Bad > 0 ? $"{Split}: {Good} good of {Found} found ({Bad} bad, skipped), {Expected} expected"
        : Complete ? $"{Split}: {Found} (complete)" : $"{Split}: {Found} of {Expected} (subset)";
}

/// <summary>
/// Prepares datasets under a data root from their official archives (when online) or from a local folder/archive, then
/// verifies structure and counts by opening every split with the dataset readers (and, with decode, reading every
/// sample). Writes go to a staging folder renamed into place at the end.
/// </summary>
public static class DatasetPreparer
{
    /// <summary>The dataset called <paramref name="dataset"/> when it has files to prepare (not the synthetic scenes).</summary>
    public static DatasetDefinition Preparable(string dataset)
    {
        var d = Datasets.Get(dataset);
        if (!d.NeedsRoot) throw new ArgumentException($"dataset '{d.Name}' is generated, not prepared (known: {Datasets.Names(filter: x => x.NeedsRoot)})", nameof(dataset));
        return d;
    }

    /// <summary>
    /// Installs <paramref name="dataset"/> into <paramref name="root"/>/&lt;folder&gt; from <paramref name="from"/> (a folder in
    /// the dataset's layout, a parent holding it, or its .zip), or downloads the official archive when
    /// <paramref name="from"/> is null. An existing target is verified and left alone unless <paramref name="force"/>.
    /// </summary>
    public static string Prepare(string dataset, string root, string? from, bool force, TextWriter log, CancellationToken ct = default)
    {
        var def = Preparable(dataset);
        var target = Path.Combine(Path.GetFullPath(root), def.Folder!);
        if (Directory.Exists(target) && !force)
        {
            log.WriteLine($"{target} exists; verifying (use --force to reinstall)");
            return target;
        }
        Directory.CreateDirectory(root);
        var staging = Path.Combine(Path.GetFullPath(root), $".{def.Folder}.staging{Environment.ProcessId}");
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        try
        {
            string source;
            if (from is null)
            {
                if (def.DownloadUrl is null)
                    throw new DataFormatException($"{def.Name} cannot be downloaded anonymously: {def.ManualDownload}, then pass --from <folder holding them>");
                var zip = Path.Combine(Path.GetFullPath(root), $".{def.Name}.download{Environment.ProcessId}.zip");
                Download(def.DownloadUrl, zip, log, ct);
                source = Extract(zip, staging + ".x", log);
                File.Delete(zip);
            }
            else if (File.Exists(from) && from.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) source = Extract(from, staging + ".x", log);
            else if (Directory.Exists(from))
            {
                source = from;
                if (def.LocalArchives is { } pattern)
                {
                    var zips = Directory.GetFiles(from, pattern);
                    if (zips.Length > 0 && !def.IsLayoutRoot!(from))
                    {
                        source = staging + ".x";
                        foreach (var z in zips) { log.WriteLine($"extracting {z}"); ZipFile.ExtractToDirectory(z, source, overwriteFiles: true); }
                    }
                }
            }
            else throw new DataFormatException($"--from {from}: no such folder or .zip file", from);

            var layoutRoot = FindLayoutRoot(def, source) ?? throw new DataFormatException(
                $"{source}: does not contain the {def.Name} layout\nexpected layout:\n{def.Layout}", source);
            log.WriteLine($"copying {layoutRoot} -> {target}");
            CopyTree(layoutRoot, staging);
            def.AfterCopy?.Invoke(staging);
            if (Directory.Exists(target)) Directory.Delete(target, true);
            Directory.Move(staging, target);
            if (Directory.Exists(staging + ".x")) Directory.Delete(staging + ".x", true);
            return target;
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            if (Directory.Exists(staging + ".x")) Directory.Delete(staging + ".x", true);
            throw;
        }
    }

    /// <summary>Opens every split (and with <paramref name="decode"/> reads every sample) and compares counts with the official ones.</summary>
    public static IReadOnlyList<SplitCheck> Verify(string dataset, string folder, bool decode, TextWriter log, bool skipBad = false)
    {
        var def = Preparable(dataset);
        var checks = new List<SplitCheck>();
        foreach (var (split, expected) in def.OfficialCounts)
        {
            int found, bad = 0;
            try
            {
                (int Count, Action<int> Read, Func<int, string> Describe) ds;
                if (def.Kind == DatasetKind.Classification)
                {
                    var cls = def.OpenClassification(folder, split);
                    if (split == "train") log.WriteLine($"{def.Name}: {cls.NumClasses} classes");
                    ds = (cls.Count, i => cls.Get(i), cls.Describe);
                }
                else
                {
                    var seg = def.OpenSegmentation(folder, split);
                    ds = (seg.Count, i => seg.Get(i), seg.Describe);
                }
                found = ds.Count;
                if (decode) for (int i = 0; i < ds.Count; i++) if (!TryRead(() => ds.Read(i), ds.Describe(i), skipBad, log)) bad++;
            }
            catch (DataFormatException e) when (e.IsMissingPath)
            {
                log.WriteLine($"{def.Name} {split}: 0 of {expected} (missing: {e.Message.Split('\n')[0]})");
                checks.Add(new SplitCheck(split, 0, expected));
                continue;
            }
            var check = new SplitCheck(split, found, expected) { Bad = bad };
            log.WriteLine($"{def.Name} {check}");
            checks.Add(check);
        }
        return checks;
    }

    private static bool TryRead(Action read, string what, bool skipBad, TextWriter log)
    {
        try { read(); return true; }
        catch (Exception e) when (skipBad && e is IOException) { log.WriteLine($"skipped {what}: {e.Message}"); return false; }
    }

    /// <summary>The folder under <paramref name="source"/> (itself or up to three levels down) that holds the dataset's layout.</summary>
    public static string? FindLayoutRoot(DatasetDefinition dataset, string source)
    {
        var matches = dataset.IsLayoutRoot ?? throw new ArgumentException($"dataset '{dataset.Name}' has no file layout", nameof(dataset));
        var queue = new Queue<(string, int)>();
        queue.Enqueue((source, 0));
        while (queue.Count > 0)
        {
            var (d, depth) = queue.Dequeue();
            if (matches(d)) return d;
            if (depth < 3) foreach (var sub in Directory.EnumerateDirectories(d).Order(StringComparer.Ordinal)) queue.Enqueue((sub, depth + 1));
        }
        return null;
    }

    private static void CopyTree(string src, string dst)
    {
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.EnumerateFiles(src)) File.Copy(f, Path.Combine(dst, Path.GetFileName(f)), overwrite: true);
        foreach (var d in Directory.EnumerateDirectories(src)) CopyTree(d, Path.Combine(dst, Path.GetFileName(d)));
    }

    private static string Extract(string zip, string dir, TextWriter log)
    {
        log.WriteLine($"extracting {zip}");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        try { ZipFile.ExtractToDirectory(zip, dir); }
        catch (InvalidDataException e) { throw new DataFormatException($"{zip}: not a valid zip archive ({e.Message})", zip, e); }
        return dir;
    }

    private static void Download(string url, string path, TextWriter log, CancellationToken ct)
    {
        log.WriteLine($"downloading {url}");
        using var http = new HttpClient { Timeout = TimeSpan.FromHours(6) };
        try
        {
            using var resp = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).GetAwaiter().GetResult();
            resp.EnsureSuccessStatusCode();
            var tmp = path + ".part";
            using (var src = resp.Content.ReadAsStream(ct))
            using (var dst = File.Create(tmp))
                src.CopyToAsync(dst, 1 << 20, ct).GetAwaiter().GetResult();
            File.Move(tmp, path, overwrite: true);
        }
        catch (HttpRequestException e)
        {
            throw new DataFormatException($"download of {url} failed ({e.Message}); when offline, pass --from <local folder or zip>", url, e);
        }
    }
}
