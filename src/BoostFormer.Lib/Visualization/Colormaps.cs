namespace BoostFormer.Visualization;

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
