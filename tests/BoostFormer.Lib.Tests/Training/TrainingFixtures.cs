using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>Reads Fixtures/training_fixtures.json (made by Fixtures/make_training_fixtures.py) and rebuilds its inputs.</summary>
public static class TrainingFixtures
{
    public const int N = 2, K = 5, h = 4, w = 6, H = 8, W = 12;
    private static JsonElement? _root;

    public static JsonElement Root => _root ??= Load();

    private static JsonElement Load()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "tests", "BoostFormer.Lib.Tests", "Training", "Fixtures", "training_fixtures.json");
            if (File.Exists(p)) return JsonDocument.Parse(File.ReadAllText(p)).RootElement.Clone();
        }
        throw new FileNotFoundException("training_fixtures.json not found above " + AppContext.BaseDirectory);
    }

    public static double D(string name) => Root.GetProperty(name).GetDouble();
    public static double[] A(string name) => Root.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static Tensor Logits()
    {
        var n = N * K * h * w;
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(Math.Sin(i * 0.37) * 2.0 + Math.Cos(i * 0.05));
        return tensor(v, new long[] { N, K, h, w });
    }

    public static Tensor Labels()
    {
        var n = N * H * W;
        var v = new long[n];
        for (long i = 0; i < n; i++) { var l = (i * 7 + i / 5) % (K + 1); v[i] = l == K ? 255 : l; }
        return tensor(v, new long[] { N, H, W });
    }

    public static readonly float[] ClassWeights = { 0.5f, 1.0f, 2.0f, 1.5f, 0.8f };
}
