using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace BoostFormer.Lib.Tests.Data;

/// <summary>Finds the shared sample data (BOOSTFORMER_DATA, else shared/data above the test folder) and the fixture JSON.</summary>
public static class DataTestPaths
{
    private static readonly Lazy<string> _data = new(() =>
    {
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return Path.GetFullPath(env);
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "shared", "data");
            if (Directory.Exists(p)) return p;
        }
        throw new DirectoryNotFoundException("sample data not found: set BOOSTFORMER_DATA or keep shared/data above the checkout");
    });

    public static string Data => _data.Value;
    public static string CamVid => Path.Combine(Data, "camvid");
    public static string Tiny => Path.Combine(Data, "tiny-imagenet-200");
    public static string Ade => Path.Combine(Data, "ade20k-sample", "ADEChallengeData2016");
    public static string Cityscapes => Path.Combine(Data, "cityscapes-sample");

    public static string FixtureDir([CallerFilePath] string self = "") => Path.Combine(Path.GetDirectoryName(self)!, "Fixtures");

    private static readonly Lazy<JsonNode> _fixtures = new(() => JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDir(), "data_fixtures.json")))!);
    /// <summary>data_fixtures.json written by Fixtures/generate_fixtures.py (PIL + numpy).</summary>
    public static JsonNode Fixtures => _fixtures.Value;

    /// <summary>A fresh temporary folder, deleted by Dispose.</summary>
    public static TempDir Temp() => new();

    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bf-data-" + Guid.NewGuid().ToString("N")[..10]);
        public TempDir() { Directory.CreateDirectory(Path); }
        public string this[string rel] => System.IO.Path.Combine(Path, rel);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }

    /// <summary>Copies a file into the temp tree, creating folders.</summary>
    public static string CopyInto(string src, string dst)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
        File.Copy(src, dst, true);
        return dst;
    }

    /// <summary>A small CamVid copy (first <paramref name="n"/> val pairs) in a temp folder for bad-input tests.</summary>
    public static TempDir SmallCamVid(int n = 3)
    {
        var t = Temp();
        var lines = File.ReadAllLines(Path.Combine(CamVid, "val.txt")).Take(n).ToArray();
        foreach (var l in lines)
            foreach (var rel in l.Split(' ')) CopyInto(Path.Combine(CamVid, rel), t[rel]);
        File.WriteAllLines(t["val.txt"], lines);
        return t;
    }
}
