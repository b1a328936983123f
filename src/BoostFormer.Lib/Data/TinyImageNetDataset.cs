namespace BoostFormer.Data;

/// <summary>One classification sample.</summary>
public sealed record ClassificationSample(ImageBuffer Image, int Label, string Path);

/// <summary>A random-access image classification dataset.</summary>
public interface IClassificationDataset
{
    int Count { get; }
    int NumClasses { get; }
    IReadOnlyList<string> ClassNames { get; }
    ClassificationSample Get(int index);
    int LabelOf(int index);
    string Describe(int index);
}

/// <summary>
/// Tiny-ImageNet in its standard layout: <c>wnids.txt</c> (class ids, one a line: their order is the class index and
/// their count is the class count, whatever it is), <c>words.txt</c> (wnid → names), <c>train/&lt;wnid&gt;/images/*.JPEG</c>,
/// <c>val/images/*.JPEG</c> with <c>val/val_annotations.txt</c> (file, wnid, box). Gray images are read as RGB.
/// </summary>
public sealed class TinyImageNetDataset : IClassificationDataset
{
    public const string Layout =
        "  <root>/wnids.txt, <root>/words.txt\n  <root>/train/<wnid>/images/<wnid>_<k>.JPEG\n" +
        "  <root>/val/images/val_<k>.JPEG and <root>/val/val_annotations.txt (file<TAB>wnid<TAB>x0 y0 x1 y1)";

    private readonly List<(string Path, int Label)> _items = new();
    public string Root { get; }
    public string Split { get; }
    public IReadOnlyList<string> WordNetIds { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => _items.Count;
    public int NumClasses => WordNetIds.Count;

    public TinyImageNetDataset(string root, string split = "train")
    {
        FileSegmentationDataset.RequireDir(root, "Tiny-ImageNet root", Layout);
        var dir = Datasets.TinyImageNet.Locate(root, p => File.Exists(Path.Combine(p, "wnids.txt")));
        Root = dir; Split = split;
        var wnidsFile = FileSegmentationDataset.RequireFile(Path.Combine(dir, "wnids.txt"), "Tiny-ImageNet", Layout);
        var wnids = File.ReadAllLines(wnidsFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (wnids.Count == 0) throw new DataFormatException($"{wnidsFile}: no class ids", wnidsFile);
        var dup = wnids.GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new DataFormatException($"{wnidsFile}: class id {dup.Key} is listed twice", wnidsFile);
        WordNetIds = wnids;
        var index = wnids.Select((w, i) => (w, i)).ToDictionary(t => t.w, t => t.i);
        var words = new Dictionary<string, string>();
        var wordsFile = Path.Combine(dir, "words.txt");
        if (File.Exists(wordsFile))
            foreach (var line in File.ReadLines(wordsFile))
            {
                var tab = line.IndexOf('\t');
                if (tab > 0 && index.ContainsKey(line[..tab])) words[line[..tab]] = line[(tab + 1)..].Trim();
            }
        ClassNames = wnids.Select(w => words.TryGetValue(w, out var n) ? n : w).ToList();

        if (split is "train")
        {
            foreach (var w in wnids)
            {
                var d = Path.Combine(dir, "train", w, "images");
                if (!Directory.Exists(d)) throw new DataFormatException($"Tiny-ImageNet: class {w} (listed in {wnidsFile}) has no folder {d}\nexpected layout:\n{Layout}", d);
                foreach (var f in Directory.EnumerateFiles(d).Where(IsImage).Order(StringComparer.Ordinal)) _items.Add((f, index[w]));
            }
        }
        else if (split is "val")
        {
            var ann = FileSegmentationDataset.RequireFile(Path.Combine(dir, "val", "val_annotations.txt"), "Tiny-ImageNet split 'val'", Layout);
            int lineNo = 0;
            foreach (var line in File.ReadLines(ann))
            {
                lineNo++;
                if (line.Trim().Length == 0) continue;
                var parts = line.Split('\t');
                if (parts.Length < 2) throw new DataFormatException($"{ann}:{lineNo}: expected 'file<TAB>wnid<TAB>box', got '{line}'", ann);
                if (!index.TryGetValue(parts[1], out var label)) throw new DataFormatException($"{ann}:{lineNo}: class id {parts[1]} is not in {wnidsFile}", ann);
                var f = Path.Combine(dir, "val", "images", parts[0]);
                if (!File.Exists(f)) throw new DataFormatException($"{ann}:{lineNo}: image not found: {f}", f);
                _items.Add((f, label));
            }
        }
        else throw new DataFormatException($"Tiny-ImageNet: unknown split '{split}' (train or val)\nexpected layout:\n{Layout}", dir);
        if (_items.Count == 0) throw new DataFormatException($"Tiny-ImageNet: split '{split}' under {dir} has no images\nexpected layout:\n{Layout}", dir);
    }

    private static bool IsImage(string f) => Path.GetExtension(f).ToLowerInvariant() is ".jpeg" or ".jpg" or ".png";

    public int LabelOf(int index) => _items[index].Label;
    public string Describe(int index) => _items[index].Path;

    public ClassificationSample Get(int index)
    {
        var (p, l) = _items[index];
        return new ClassificationSample(SampleReader.ReadRgb(p), l, p);
    }
}
