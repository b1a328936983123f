namespace BoostFormer.Data;

/// <summary>Per-dataset palettes (RGB triplets per class) for colouring label maps; see <see cref="DatasetInfo"/>.</summary>
public static class Palettes
{
    public static byte[] Ade20k => DatasetInfo.Ade20k.Palette;
    public static byte[] Cityscapes => DatasetInfo.Cityscapes.Palette;
    public static byte[] CamVid => DatasetInfo.CamVid.Palette;
    /// <summary>The palette of a dataset by name (see <see cref="DatasetInfo.ByName"/>).</summary>
    public static byte[] For(string dataset) => DatasetInfo.ByName(dataset).Palette;
}
