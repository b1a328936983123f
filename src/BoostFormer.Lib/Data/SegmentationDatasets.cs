using BoostFormer.IO;

namespace BoostFormer.Data;

/// <summary>A random-access collection of segmentation samples with a known label space.</summary>
public interface ISegmentationDataset
{
    DatasetInfo Info { get; }
    int Count { get; }
    /// <summary>Reads sample <paramref name="index"/>: RGB image and label map in the dataset's train-label space (ignore = 255).</summary>
    SegmentationSample Get(int index);
    /// <summary>A short description of the sample (its image path) for error messages.</summary>
    string Describe(int index);
}

/// <summary>
/// A segmentation dataset stored as image/label file pairs, with a 256-entry lookup table from stored label values to
/// train labels (255 = ignore) and a set of stored values that are errors. Reading validates that the label map has
/// the image's size and only known values, naming the file otherwise.
/// </summary>
public class FileSegmentationDataset : ISegmentationDataset
{
    private readonly byte[] _lut;
    private readonly short[] _invalid;

    public DatasetInfo Info { get; }
    public string Root { get; }
    public string Split { get; }
    public IReadOnlyList<(string Image, string Label)> Pairs { get; }
    public int Count => Pairs.Count;

    public FileSegmentationDataset(DatasetInfo info, string root, string split, IReadOnlyList<(string Image, string Label)> pairs, byte[] lut, IEnumerable<int> invalidValues)
    {
        if (lut.Length != 256) throw new ArgumentException("the label lookup table needs 256 entries", nameof(lut));
        Info = info; Root = root; Split = split; Pairs = pairs; _lut = lut;
        _invalid = invalidValues.Select(v => (short)v).ToArray();
    }

    public string Describe(int index) => Pairs[index].Image;

    public SegmentationSample Get(int index)
    {
        var (img, lbl) = Pairs[index];
        var image = SampleReader.ReadRgb(img);
        var label = SampleReader.ReadLabel(lbl, _lut, image.Height, image.Width, img, _invalid);
        return new SegmentationSample(image, label, img, lbl);
    }

    /// <summary>Maps a stored label value to its train label (255 = ignore); throws for values that are errors.</summary>
    public byte MapLabel(byte stored) => _invalid.Contains(stored) ? throw new ArgumentOutOfRangeException(nameof(stored), stored, "not a valid stored label value") : _lut[stored];

    internal static string RequireDir(string path, string what, string layout)
    {
        if (!Directory.Exists(path))
            throw new DataFormatException($"{what}: folder not found: {path}\nexpected layout:\n{layout}", path) { IsMissingPath = true };
        return path;
    }

    internal static string RequireFile(string path, string what, string layout)
    {
        if (!File.Exists(path))
            throw new DataFormatException($"{what}: file not found: {path}\nexpected layout:\n{layout}", path) { IsMissingPath = true };
        return path;
    }
}

/// <summary>
/// ADE20K SceneParsing (150 classes). Reads the official <c>ADEChallengeData2016/images|annotations/training|validation</c>
/// layout or the BoostFormer layout <c>image/train|val</c>, <c>mask/train|val</c>. Annotations store 0 = other and
/// 1..150 = classes; reduce-zero-label maps 0 → 255 (ignore) and k → k − 1, as mmseg's ADE20KDataset.
/// </summary>
public sealed class Ade20kDataset : FileSegmentationDataset
{
    public const string Layout =
        "  <root>/ADEChallengeData2016/images/{training,validation}/*.jpg\n" +
        "  <root>/ADEChallengeData2016/annotations/{training,validation}/*.png   (0 = other, 1..150 = classes)\n" +
        "or the BoostFormer layout:\n  <root>/image/{train,val}/*.jpg and <root>/mask/{train,val}/*.png";

    public Ade20kDataset(string root, string split = "train", bool reduceZeroLabel = true)
        : base(DatasetInfo.Ade20k, root, split, FindPairs(root, split), Lut(reduceZeroLabel), Enumerable.Range(151, 104)) { }

    private static byte[] Lut(bool reduceZeroLabel)
    {
        var lut = new byte[256];
        for (int v = 0; v < 256; v++) lut[v] = (byte)(reduceZeroLabel ? (v == 0 ? 255 : v - 1) : v);
        lut[255] = 255;
        return lut;
    }

    private static IReadOnlyList<(string, string)> FindPairs(string root, string split)
    {
        bool Official(string p) => Directory.Exists(Path.Combine(p, "images")) && Directory.Exists(Path.Combine(p, "annotations"));
        bool Boost(string p) => Directory.Exists(Path.Combine(p, "image")) && Directory.Exists(Path.Combine(p, "mask"));
        FileSegmentationDataset.RequireDir(root, "ADE20K root", Layout);
        var dir = Datasets.Ade20k.Locate(root, p => Official(p) || Boost(p));
        string imgDir, annDir;
        if (Official(dir))
        {
            var s = split switch { "train" or "training" => "training", "val" or "validation" => "validation", _ => split };
            imgDir = FileSegmentationDataset.RequireDir(Path.Combine(dir, "images", s), $"ADE20K split '{split}'", Layout);
            annDir = FileSegmentationDataset.RequireDir(Path.Combine(dir, "annotations", s), $"ADE20K split '{split}'", Layout);
        }
        else if (Boost(dir))
        {
            var s = split switch { "training" => "train", "validation" => "val", _ => split };
            imgDir = FileSegmentationDataset.RequireDir(Path.Combine(dir, "image", s), $"ADE20K split '{split}'", Layout);
            annDir = FileSegmentationDataset.RequireDir(Path.Combine(dir, "mask", s), $"ADE20K split '{split}'", Layout);
        }
        else throw new DataFormatException($"ADE20K: no images/ + annotations/ (or image/ + mask/) under {root}\nexpected layout:\n{Layout}", root);
        return PairByStem(imgDir, annDir, new[] { ".jpg", ".jpeg", ".png" }, "", ".png", "ADE20K");
    }

    internal static List<(string, string)> PairByStem(string imgDir, string annDir, string[] imageExts, string imageSuffix, string labelSuffix, string what)
    {
        var pairs = new List<(string, string)>();
        foreach (var img in Directory.EnumerateFiles(imgDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (!imageExts.Contains(Path.GetExtension(img).ToLowerInvariant())) continue;
            var rel = Path.GetRelativePath(imgDir, img);
            var stem = Path.Combine(Path.GetDirectoryName(rel) ?? "", Path.GetFileNameWithoutExtension(rel));
            if (imageSuffix.Length > 0)
            {
                if (!stem.EndsWith(imageSuffix, StringComparison.Ordinal)) continue;
                stem = stem[..^imageSuffix.Length];
            }
            var ann = Path.Combine(annDir, stem + labelSuffix);
            if (!File.Exists(ann)) throw new DataFormatException($"{what}: image {img} has no label map (expected {ann})", img);
            pairs.Add((img, ann));
        }
        if (pairs.Count == 0) throw new DataFormatException($"{what}: no images in {imgDir}", imgDir);
        return pairs;
    }
}

/// <summary>
/// Cityscapes fine annotations: <c>leftImg8bit/&lt;split&gt;/&lt;city&gt;/*_leftImg8bit.png</c> with
/// <c>gtFine/&lt;split&gt;/&lt;city&gt;/*_gtFine_labelIds.png</c>. Raw label ids (0..33) are mapped to the 19 trainIds of
/// cityscapesScripts' labels.py; every other id becomes 255.
/// </summary>
public sealed class CityscapesDataset : FileSegmentationDataset
{
    public const string Layout =
        "  <root>/leftImg8bit/{train,val,test}/<city>/<name>_leftImg8bit.png\n" +
        "  <root>/gtFine/{train,val,test}/<city>/<name>_gtFine_labelIds.png   (raw label ids 0..33)";

    /// <summary>labelId → trainId for the 19 evaluated classes (cityscapesScripts labels.py); all other ids → 255.</summary>
    public static readonly IReadOnlyDictionary<int, int> LabelIdToTrainId = new Dictionary<int, int>
    {
        [7] = 0, [8] = 1, [11] = 2, [12] = 3, [13] = 4, [17] = 5, [19] = 6, [20] = 7, [21] = 8, [22] = 9,
        [23] = 10, [24] = 11, [25] = 12, [26] = 13, [27] = 14, [28] = 15, [31] = 16, [32] = 17, [33] = 18,
    };

    public CityscapesDataset(string root, string split = "train")
        : base(DatasetInfo.Cityscapes, root, split, FindPairs(root, split), TrainIdLut(), Enumerable.Range(34, 221)) { }

    internal static byte[] TrainIdLut()
    {
        var lut = Enumerable.Repeat((byte)255, 256).ToArray();
        foreach (var (id, train) in LabelIdToTrainId) lut[id] = (byte)train;
        return lut;
    }

    private static IReadOnlyList<(string, string)> FindPairs(string root, string split)
    {
        RequireDir(root, "Cityscapes root", Layout);
        var dir = Datasets.Cityscapes.Locate(root, p => Directory.Exists(Path.Combine(p, "leftImg8bit")));
        var img = RequireDir(Path.Combine(dir, "leftImg8bit", split), $"Cityscapes split '{split}'", Layout);
        var ann = RequireDir(Path.Combine(dir, "gtFine", split), $"Cityscapes split '{split}'", Layout);
        var pairs = new List<(string, string)>();
        foreach (var f in Directory.EnumerateFiles(img, "*_leftImg8bit.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(img, f);
            var lbl = Path.Combine(ann, rel[..^"_leftImg8bit.png".Length] + "_gtFine_labelIds.png");
            if (!File.Exists(lbl)) throw new DataFormatException($"Cityscapes: image {f} has no label map (expected {lbl})", f);
            pairs.Add((f, lbl));
        }
        if (pairs.Count == 0) throw new DataFormatException($"Cityscapes: no *_leftImg8bit.png under {img}\nexpected layout:\n{Layout}", img);
        return pairs;
    }
}

/// <summary>
/// KITTI semantic segmentation (KITTI-STEP/ data_semantics.zip): <c>training/image_2/*.png</c> with
/// <c>training/semantic/*.png</c> holding Cityscapes label ids, mapped to the 19 trainIds. Split "train" is the whole
/// annotated set unless <c>&lt;root&gt;/&lt;split&gt;.txt</c> lists file names (one per line) to select.
/// </summary>
public sealed class KittiSemanticDataset : FileSegmentationDataset
{
    public const string Layout =
        "  <root>/training/image_2/*.png and <root>/training/semantic/*.png (Cityscapes label ids)\n" +
        "  optional <root>/<split>.txt listing file names of a split";

    public KittiSemanticDataset(string root, string split = "train")
        : base(DatasetInfo.KittiSemantic, root, split, FindPairs(root, split), CityscapesDataset.TrainIdLut(), Enumerable.Range(34, 221)) { }

    private static IReadOnlyList<(string, string)> FindPairs(string root, string split)
    {
        RequireDir(root, "KITTI root", Layout);
        var dir = Datasets.Kitti.Locate(root, p => Directory.Exists(Path.Combine(p, "training", "image_2")));
        var img = RequireDir(Path.Combine(dir, "training", "image_2"), "KITTI semantic", Layout);
        var ann = RequireDir(Path.Combine(dir, "training", "semantic"), "KITTI semantic", Layout);
        var list = Path.Combine(dir, split + ".txt");
        IEnumerable<string> names;
        if (File.Exists(list)) names = File.ReadAllLines(list).Select(l => l.Trim()).Where(l => l.Length > 0).Select(l => Path.GetExtension(l).Length == 0 ? l + ".png" : l);
        else if (split is "train" or "training") names = Directory.EnumerateFiles(img, "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;
        else throw new DataFormatException($"KITTI: split '{split}' needs a list file {list} (only 'train' = all of training/ works without one)\nexpected layout:\n{Layout}", list) { IsMissingPath = true };
        var pairs = new List<(string, string)>();
        foreach (var n in names)
        {
            var i = Path.Combine(img, n);
            var l = Path.Combine(ann, n);
            if (!File.Exists(i)) throw new DataFormatException($"KITTI: image not found: {i}", i);
            if (!File.Exists(l)) throw new DataFormatException($"KITTI: image {i} has no label map (expected {l})", i);
            pairs.Add((i, l));
        }
        if (pairs.Count == 0) throw new DataFormatException($"KITTI: no images for split '{split}' in {img}", img);
        return pairs;
    }
}

/// <summary>
/// CamVid in the SegNet tutorial's layout: <c>train|val|test/*.png</c> with <c>trainannot|valannot|testannot/*.png</c>
/// and list files <c>train.txt</c>, <c>val.txt</c>, <c>test.txt</c> ("image label" per line, relative to the root; the
/// SegNet originals' absolute <c>/SegNet/CamVid/...</c> paths are accepted too). Labels 0..10 are classes,
/// 11 (Unlabelled) becomes 255 (ignored in loss and metrics).
/// </summary>
public sealed class CamVidDataset : FileSegmentationDataset
{
    public const string Layout =
        "  <root>/{train,val,test}.txt   lines 'train/x.png trainannot/x.png'\n" +
        "  <root>/{train,val,test}/*.png  RGB images, <root>/{train,val,test}annot/*.png  labels 0..10, 11 = Unlabelled";

    /// <summary>The stored value of the void class.</summary>
    public const byte Unlabelled = 11;

    public CamVidDataset(string root, string split = "train")
        : base(DatasetInfo.CamVid, root, split, FindPairs(root, split), Lut(), Enumerable.Range(12, 243)) { }

    private static byte[] Lut()
    {
        var lut = new byte[256];
        for (int v = 0; v < 256; v++) lut[v] = v <= 10 ? (byte)v : (byte)255;
        return lut;
    }

    private static IReadOnlyList<(string, string)> FindPairs(string root, string split)
    {
        RequireDir(root, "CamVid root", Layout);
        var dir = Datasets.CamVid.Locate(root, p => File.Exists(Path.Combine(p, "train.txt")) || Directory.Exists(Path.Combine(p, "trainannot")));
        var list = Path.Combine(dir, split + ".txt");
        var pairs = new List<(string, string)>();
        if (File.Exists(list))
        {
            int lineNo = 0;
            foreach (var raw in File.ReadLines(list))
            {
                lineNo++;
                var line = raw.Trim();
                if (line.Length == 0) continue;
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2) throw new DataFormatException($"{list}:{lineNo}: expected 'image label', got '{line}'", list);
                var img = Path.Combine(dir, SegNetRelative(parts[0]));
                var lbl = Path.Combine(dir, SegNetRelative(parts[1]));
                if (!File.Exists(img)) throw new DataFormatException($"{list}:{lineNo}: image not found: {img}", img);
                if (!File.Exists(lbl)) throw new DataFormatException($"{list}:{lineNo}: label map not found: {lbl}", lbl);
                pairs.Add((img, lbl));
            }
            if (pairs.Count == 0) throw new DataFormatException($"CamVid: {list} lists no samples", list);
            return pairs;
        }
        var imgDir = Path.Combine(dir, split);
        var annDir = Path.Combine(dir, split + "annot");
        if (!Directory.Exists(imgDir) || !Directory.Exists(annDir))
            throw new DataFormatException($"CamVid split '{split}': neither {list} nor the folders {imgDir} and {annDir} exist\nexpected layout:\n{Layout}", list) { IsMissingPath = true };
        return Ade20kDataset.PairByStem(imgDir, annDir, new[] { ".png" }, "", ".png", "CamVid");
    }

    /// <summary>A list-file path relative to the dataset folder: SegNet's lists hold absolute paths like
    /// <c>/SegNet/CamVid/train/x.png</c>, of which the last two components are kept.</summary>
    internal static string SegNetRelative(string path)
    {
        var rel = path.Replace('\\', '/');
        if (!rel.StartsWith('/')) return rel;
        var segs = rel.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('/', segs[^2..]);
    }

    /// <summary>Rewrites the list files of a copied SegNet tutorial folder with paths relative to <paramref name="dir"/>.</summary>
    internal static void RewriteSegNetLists(string dir)
    {
        foreach (var list in Directory.GetFiles(dir, "*.txt"))
        {
            var lines = File.ReadAllLines(list).Select(l =>
            {
                var parts = l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return parts.Length == 2 ? string.Join(' ', parts.Select(SegNetRelative)) : l;
            });
            File.WriteAllLines(list, lines);
        }
    }
}
