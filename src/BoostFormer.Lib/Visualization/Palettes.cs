namespace BoostFormer.Visualization;

/// <summary>A segmentation palette: one RGB colour and one name per class id.</summary>
public sealed class Palette
{
    private readonly byte[] _rgb;

    /// <summary>Creates a palette from class names and their RGB colours (same length).</summary>
    public Palette(string name, IReadOnlyList<string> classes, IReadOnlyList<(byte R, byte G, byte B)> colors)
    {
        if (classes.Count != colors.Count)
            throw new ArgumentException($"palette '{name}': {classes.Count} class names but {colors.Count} colours", nameof(colors));
        Name = name;
        Classes = classes;
        Colors = colors;
        _rgb = new byte[colors.Count * 3];
        for (int i = 0; i < colors.Count; i++) (_rgb[3 * i], _rgb[3 * i + 1], _rgb[3 * i + 2]) = colors[i];
    }

    /// <summary>Palette name (e.g. "ADE20K").</summary>
    public string Name { get; }
    /// <summary>Class names, indexed by class id.</summary>
    public IReadOnlyList<string> Classes { get; }
    /// <summary>RGB colours, indexed by class id.</summary>
    public IReadOnlyList<(byte R, byte G, byte B)> Colors { get; }
    /// <summary>Number of classes.</summary>
    public int Count => Colors.Count;

    /// <summary>Colour of class <paramref name="id"/>.</summary>
    public (byte R, byte G, byte B) this[int id] => Colors[id];

    /// <summary>Colour of class <paramref name="id"/> as <c>#rrggbb</c>.</summary>
    public string Hex(int id) => $"#{Colors[id].R:x2}{Colors[id].G:x2}{Colors[id].B:x2}";

    internal ReadOnlySpan<byte> Rgb => _rgb;

    /// <summary>
    /// A palette of <paramref name="count"/> distinct colours (the PASCAL VOC bit-interleaving scheme), for datasets without
    /// an official one. Class names are the ids.
    /// </summary>
    public static Palette Generated(int count)
    {
        var colors = new (byte, byte, byte)[count];
        for (int i = 0; i < count; i++)
        {
            int r = 0, g = 0, b = 0, c = i;
            for (int j = 0; j < 8; j++)
            {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            colors[i] = ((byte)r, (byte)g, (byte)b);
        }
        return new Palette($"Generated{count}", Enumerable.Range(0, count).Select(i => i.ToString()).ToArray(), colors);
    }
}

/// <summary>The standard palettes of the segmentation benchmarks used by the workbook.</summary>
public static class Palettes
{
    /// <summary>
    /// CamVid, SegNet version: 11 classes (ids 0..10; 11 = Unlabelled is void and not part of the palette), in the
    /// colours of the SegNet tutorial.
    /// </summary>
    public static Palette CamVid { get; } = new("CamVid",
        new[] { "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist" },
        new (byte, byte, byte)[]
        {
            (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
            (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192),
        });

    /// <summary>Cityscapes: the 19 evaluation classes (train ids 0..18; 255 = ignore), in the official colours.</summary>
    public static Palette Cityscapes { get; } = new("Cityscapes",
        new[]
        {
            "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation", "terrain",
            "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
        },
        new (byte, byte, byte)[]
        {
            (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153), (250, 170, 30),
            (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
            (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
        });

    /// <summary>
    /// ADE20K (SceneParsing, 150 classes) with the colours used by the SegFormer/mmsegmentation code base. Ids here are
    /// 0..149, i.e. the annotation value minus one (annotation 0 = "other" is ignored: reduce-zero-label).
    /// </summary>
    public static Palette Ade20k { get; } = new("ADE20K",
        new[]
        {
            "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet", "sidewalk",
            "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water", "painting", "sofa",
            "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp",
            "bathtub", "railing", "cushion", "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink",
            "skyscraper", "fireplace", "refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow",
            "screen door", "stairway", "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill",
            "bench", "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine",
            "hovel", "bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth",
            "television receiver", "airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman",
            "bottle", "buffet", "poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything",
            "swimming pool", "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food",
            "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket",
            "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate",
            "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
        },
        new (byte, byte, byte)[]
        {
            (120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50), (4, 200, 3), (120, 120, 80), (140, 140, 140),
            (204, 5, 255), (230, 230, 230), (4, 250, 7), (224, 5, 255), (235, 255, 7), (150, 5, 61), (120, 120, 70),
            (8, 255, 51), (255, 6, 82), (143, 255, 140), (204, 255, 4), (255, 51, 7), (204, 70, 3), (0, 102, 200),
            (61, 230, 250), (255, 6, 51), (11, 102, 255), (255, 7, 71), (255, 9, 224), (9, 7, 230), (220, 220, 220),
            (255, 9, 92), (112, 9, 255), (8, 255, 214), (7, 255, 224), (255, 184, 6), (10, 255, 71), (255, 41, 10),
            (7, 255, 255), (224, 255, 8), (102, 8, 255), (255, 61, 6), (255, 194, 7), (255, 122, 8), (0, 255, 20),
            (255, 8, 41), (255, 5, 153), (6, 51, 255), (235, 12, 255), (160, 150, 20), (0, 163, 255), (140, 140, 140),
            (250, 10, 15), (20, 255, 0), (31, 255, 0), (255, 31, 0), (255, 224, 0), (153, 255, 0), (0, 0, 255),
            (255, 71, 0), (0, 235, 255), (0, 173, 255), (31, 0, 255), (11, 200, 200), (255, 82, 0), (0, 255, 245),
            (0, 61, 255), (0, 255, 112), (0, 255, 133), (255, 0, 0), (255, 163, 0), (255, 102, 0), (194, 255, 0),
            (0, 143, 255), (51, 255, 0), (0, 82, 255), (0, 255, 41), (0, 255, 173), (10, 0, 255), (173, 255, 0),
            (0, 255, 153), (255, 92, 0), (255, 0, 255), (255, 0, 245), (255, 0, 102), (255, 173, 0), (255, 0, 20),
            (255, 184, 184), (0, 31, 255), (0, 255, 61), (0, 71, 255), (255, 0, 204), (0, 255, 194), (0, 255, 82),
            (0, 10, 255), (0, 112, 255), (51, 0, 255), (0, 194, 255), (0, 122, 255), (0, 255, 163), (255, 153, 0),
            (0, 255, 10), (255, 112, 0), (143, 255, 0), (82, 0, 255), (163, 255, 0), (255, 235, 0), (8, 184, 170),
            (133, 0, 255), (0, 255, 92), (184, 0, 255), (255, 0, 31), (0, 184, 255), (0, 214, 255), (255, 0, 112),
            (92, 255, 0), (0, 224, 255), (112, 224, 255), (70, 184, 160), (163, 0, 255), (153, 0, 255), (71, 255, 0),
            (255, 0, 163), (255, 204, 0), (255, 0, 143), (0, 255, 235), (133, 255, 0), (255, 0, 235), (245, 0, 255),
            (255, 0, 122), (255, 245, 0), (10, 190, 212), (214, 255, 0), (0, 204, 255), (20, 0, 255), (255, 255, 0),
            (0, 153, 255), (0, 41, 255), (0, 255, 204), (41, 0, 255), (41, 255, 0), (173, 0, 255), (0, 245, 255),
            (71, 0, 255), (122, 0, 255), (0, 255, 184), (0, 92, 255), (184, 255, 0), (0, 133, 255), (255, 214, 0),
            (25, 194, 194), (102, 255, 0), (92, 0, 255),
        });

    /// <summary>The palette for a dataset name: "camvid", "cityscapes" or "ade20k" (case-insensitive).</summary>
    public static Palette For(string dataset) => dataset.ToLowerInvariant() switch
    {
        "camvid" => CamVid,
        "cityscapes" => Cityscapes,
        "ade20k" or "ade" or "ade20k-150" => Ade20k,
        _ => throw new ArgumentException($"no standard palette for dataset '{dataset}' (known: camvid, cityscapes, ade20k)", nameof(dataset)),
    };
}

/// <summary>Continuous colour maps for heatmaps and single-channel images.</summary>
public static class Colormaps
{
    // Viridis (matplotlib), 9 control points; linear interpolation between them.
    private static readonly (double R, double G, double B)[] ViridisStops =
    {
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129), (92, 200, 99),
        (170, 220, 50), (253, 231, 37),
    };

    /// <summary>Viridis colour for <paramref name="t"/> in [0, 1] (clamped; NaN maps to grey).</summary>
    public static (byte R, byte G, byte B) Viridis(double t)
    {
        if (double.IsNaN(t)) return (128, 128, 128);
        t = Math.Clamp(t, 0, 1) * (ViridisStops.Length - 1);
        int i = Math.Min((int)t, ViridisStops.Length - 2);
        double f = t - i;
        var (a, b) = (ViridisStops[i], ViridisStops[i + 1]);
        return ((byte)Math.Round(a.R + (b.R - a.R) * f), (byte)Math.Round(a.G + (b.G - a.G) * f), (byte)Math.Round(a.B + (b.B - a.B) * f));
    }

    /// <summary>Grey level for <paramref name="t"/> in [0, 1] (clamped).</summary>
    public static (byte R, byte G, byte B) Gray(double t)
    {
        byte v = (byte)Math.Round(Math.Clamp(double.IsNaN(t) ? 0 : t, 0, 1) * 255);
        return (v, v, v);
    }
}
