namespace BoostFormer.Data;

/// <summary>
/// Class names, colours and the ignore value of a dataset's label space (after the dataset's label mapping, e.g.
/// ADE20K's reduce-zero-label or Cityscapes' trainIds). Used by losses, metrics and the visualisation code.
/// </summary>
public sealed class DatasetInfo
{
    /// <summary>Label value that losses and metrics ignore (mmseg's <c>ignore_index</c>).</summary>
    public const byte IgnoreIndex = 255;

    public string Name { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>RGB triplets, one per class (length 3 × <see cref="NumClasses"/>).</summary>
    public byte[] Palette { get; }
    public int NumClasses => ClassNames.Count;

    public DatasetInfo(string name, IReadOnlyList<string> classNames, byte[] palette)
    {
        if (palette.Length != classNames.Count * 3)
            throw new ArgumentException($"{name}: palette has {palette.Length / 3} colours for {classNames.Count} classes", nameof(palette));
        Name = name;
        ClassNames = classNames;
        Palette = palette;
    }

    /// <summary>The colour of class <paramref name="c"/>; the ignore value is black.</summary>
    public (byte R, byte G, byte B) ColorOf(int c) =>
        c >= 0 && c < NumClasses ? (Palette[3 * c], Palette[3 * c + 1], Palette[3 * c + 2]) : ((byte)0, (byte)0, (byte)0);

    /// <summary>A 256-entry palette (768 bytes) for writing label maps as palette PNGs: classes first, then black (ignore included).</summary>
    public byte[] FullPalette()
    {
        var p = new byte[768];
        Palette.AsSpan(0, Math.Min(Palette.Length, 768)).CopyTo(p);
        return p;
    }

    /// <summary>Colours a label map (HW values) into RGB (HWC) with this palette.</summary>
    public byte[] Colorize(ReadOnlySpan<byte> labels)
    {
        var lut = FullPalette();
        var rgb = new byte[labels.Length * 3];
        for (int i = 0; i < labels.Length; i++)
        {
            int o = labels[i] * 3;
            rgb[3 * i] = lut[o]; rgb[3 * i + 1] = lut[o + 1]; rgb[3 * i + 2] = lut[o + 2];
        }
        return rgb;
    }

    /// <summary>ADE20K SceneParsing (ADEChallengeData2016): 150 classes after reduce-zero-label; names and palette as mmseg.</summary>
    public static DatasetInfo Ade20k => _ade20k ??= new("ade20k", AdeClasses, AdePalette);
    private static DatasetInfo? _ade20k;

    /// <summary>Cityscapes' 19 evaluation classes (trainIds 0..18), names and palette as cityscapesScripts / mmseg.</summary>
    public static DatasetInfo Cityscapes { get; } = new("cityscapes", new[]
    {
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation", "terrain",
        "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
    }, new byte[]
    {
        128, 64, 128, 244, 35, 232, 70, 70, 70, 102, 102, 156, 190, 153, 153, 153, 153, 153, 250, 170, 30, 220, 220, 0,
        107, 142, 35, 152, 251, 152, 70, 130, 180, 220, 20, 60, 255, 0, 0, 0, 0, 142, 0, 0, 70, 0, 60, 100, 0, 80, 100,
        0, 0, 230, 119, 11, 32,
    });

    /// <summary>KITTI semantic segmentation: annotated with Cityscapes label ids, evaluated on the same 19 trainIds.</summary>
    public static DatasetInfo KittiSemantic { get; } = new("kitti", Cityscapes.ClassNames, Cityscapes.Palette);

    /// <summary>CamVid in the SegNet version: 11 classes (value 11, Unlabelled, is mapped to ignore); SegNet's palette.</summary>
    public static DatasetInfo CamVid { get; } = new("camvid", new[]
    {
        "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
    }, new byte[]
    {
        128, 128, 128, 128, 0, 0, 192, 192, 128, 128, 64, 128, 60, 40, 222, 128, 128, 0, 192, 128, 128, 64, 64, 128,
        64, 0, 128, 64, 64, 0, 0, 128, 192,
    });

    /// <summary>The synthetic scene dataset with <paramref name="numClasses"/> classes (deterministic distinct colours).</summary>
    public static DatasetInfo Synthetic(int numClasses)
    {
        if (numClasses is < 2 or > 255) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "the synthetic dataset needs 2..255 classes");
        var names = new string[numClasses];
        var pal = new byte[numClasses * 3];
        names[0] = "background";
        for (int c = 1; c < numClasses; c++) names[c] = SyntheticShapeName(c);
        for (int c = 0; c < numClasses; c++)
        {
            // Golden-angle hue walk: neighbours get well-separated colours.
            var (r, g, b) = HsvToRgb((c * 137.508) % 360, c == 0 ? 0.0 : 0.75, c == 0 ? 0.35 : 0.95);
            pal[3 * c] = r; pal[3 * c + 1] = g; pal[3 * c + 2] = b;
        }
        return new DatasetInfo($"synthetic{numClasses}", names, pal);
    }

    internal static string SyntheticShapeName(int c) => ((c - 1) % 3) switch { 0 => "disc", 1 => "box", _ => "triangle" } + $" {c}";

    /// <summary>The info of a segmentation dataset by name or alias (<see cref="Datasets"/>; synthetic: 19 classes).</summary>
    public static DatasetInfo ByName(string name) => Datasets.Get(name, DatasetKind.Segmentation).Info!;

    internal static (byte, byte, byte) HsvToRgb(double h, double s, double v)
    {
        double c = v * s, x = c * (1 - Math.Abs(h / 60 % 2 - 1)), m = v - c;
        var (r, g, b) = h switch { < 60 => (c, x, 0.0), < 120 => (x, c, 0.0), < 180 => (0.0, c, x), < 240 => (0.0, x, c), < 300 => (x, 0.0, c), _ => (c, 0.0, x) };
        return ((byte)Math.Round((r + m) * 255), (byte)Math.Round((g + m) * 255), (byte)Math.Round((b + m) * 255));
    }

    private static readonly string[] AdeClasses =
    {
        "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed",
        "windowpane", "grass", "cabinet", "sidewalk", "person", "earth", "door", "table",
        "mountain", "plant", "curtain", "chair", "car", "water", "painting", "sofa",
        "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat",
        "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
        "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink",
        "skyscraper", "fireplace", "refrigerator", "grandstand", "path", "stairs", "runway", "case",
        "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase", "blind",
        "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove",
        "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel",
        "bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight",
        "booth", "television receiver", "airplane", "dirt track", "apparel", "pole", "land", "bannister",
        "escalator", "ottoman", "bottle", "buffet", "poster", "stage", "van", "ship",
        "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool", "barrel",
        "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
        "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle",
        "lake", "dishwasher", "screen", "blanket", "sculpture", "hood", "sconce", "vase",
        "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
        "bulletin board", "shower", "radiator", "glass", "clock", "flag",
    };

    private static readonly byte[] AdePalette =
    {
        120, 120, 120, 180, 120, 120, 6, 230, 230, 80, 50, 50, 4, 200, 3, 120, 120, 80,
        140, 140, 140, 204, 5, 255, 230, 230, 230, 4, 250, 7, 224, 5, 255, 235, 255, 7,
        150, 5, 61, 120, 120, 70, 8, 255, 51, 255, 6, 82, 143, 255, 140, 204, 255, 4,
        255, 51, 7, 204, 70, 3, 0, 102, 200, 61, 230, 250, 255, 6, 51, 11, 102, 255,
        255, 7, 71, 255, 9, 224, 9, 7, 230, 220, 220, 220, 255, 9, 92, 112, 9, 255,
        8, 255, 214, 7, 255, 224, 255, 184, 6, 10, 255, 71, 255, 41, 10, 7, 255, 255,
        224, 255, 8, 102, 8, 255, 255, 61, 6, 255, 194, 7, 255, 122, 8, 0, 255, 20,
        255, 8, 41, 255, 5, 153, 6, 51, 255, 235, 12, 255, 160, 150, 20, 0, 163, 255,
        140, 140, 140, 250, 10, 15, 20, 255, 0, 31, 255, 0, 255, 31, 0, 255, 224, 0,
        153, 255, 0, 0, 0, 255, 255, 71, 0, 0, 235, 255, 0, 173, 255, 31, 0, 255,
        11, 200, 200, 255, 82, 0, 0, 255, 245, 0, 61, 255, 0, 255, 112, 0, 255, 133,
        255, 0, 0, 255, 163, 0, 255, 102, 0, 194, 255, 0, 0, 143, 255, 51, 255, 0,
        0, 82, 255, 0, 255, 41, 0, 255, 173, 10, 0, 255, 173, 255, 0, 0, 255, 153,
        255, 92, 0, 255, 0, 255, 255, 0, 245, 255, 0, 102, 255, 173, 0, 255, 0, 20,
        255, 184, 184, 0, 31, 255, 0, 255, 61, 0, 71, 255, 255, 0, 204, 0, 255, 194,
        0, 255, 82, 0, 10, 255, 0, 112, 255, 51, 0, 255, 0, 194, 255, 0, 122, 255,
        0, 255, 163, 255, 153, 0, 0, 255, 10, 255, 112, 0, 143, 255, 0, 82, 0, 255,
        163, 255, 0, 255, 235, 0, 8, 184, 170, 133, 0, 255, 0, 255, 92, 184, 0, 255,
        255, 0, 31, 0, 184, 255, 0, 214, 255, 255, 0, 112, 92, 255, 0, 0, 224, 255,
        112, 224, 255, 70, 184, 160, 163, 0, 255, 153, 0, 255, 71, 255, 0, 255, 0, 163,
        255, 204, 0, 255, 0, 143, 0, 255, 235, 133, 255, 0, 255, 0, 235, 245, 0, 255,
        255, 0, 122, 255, 245, 0, 10, 190, 212, 214, 255, 0, 0, 204, 255, 20, 0, 255,
        255, 255, 0, 0, 153, 255, 0, 41, 255, 0, 255, 204, 41, 0, 255, 41, 255, 0,
        173, 0, 255, 0, 245, 255, 71, 0, 255, 122, 0, 255, 0, 255, 184, 0, 92, 255,
        184, 255, 0, 0, 133, 255, 255, 214, 0, 25, 194, 194, 102, 255, 0, 92, 0, 255,
    };
}
