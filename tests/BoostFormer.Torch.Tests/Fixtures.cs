using System.Text.Json;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

/// <summary>Reads fixtures/expected.json (made by fixtures/make_expected.py with python3-torch 1.13.1).</summary>
internal static class Fixtures
{
    private static readonly Lazy<JsonElement> Cases = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "expected.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").Clone();
    });

    public sealed class Case
    {
        private readonly JsonElement _e;
        public Case(JsonElement e) { _e = e; }
        public Tensor In(string name) => Make(_e.GetProperty("inputs").GetProperty(name));
        public Tensor Out(string name) => Make(_e.GetProperty("outputs").GetProperty(name));
    }

    public static Case Get(string name) => new(Cases.Value.GetProperty(name));

    private static Tensor Make(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var data = e.GetProperty("data");
        switch (e.GetProperty("dtype").GetString())
        {
            case "float32": return tensor<float>(data.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray().AsSpan(), shape);
            case "float64": return tensor<double>(data.EnumerateArray().Select(v => v.GetDouble()).ToArray().AsSpan(), shape);
            case "int64": return tensor<long>(data.EnumerateArray().Select(v => v.GetInt64()).ToArray().AsSpan(), shape);
            case "bool": return tensor<bool>(data.EnumerateArray().Select(v => v.GetInt32() != 0).ToArray().AsSpan(), shape);
            default: throw new InvalidDataException("unknown dtype in expected.json");
        }
    }
}

/// <summary>Assertion helpers comparing tensors element-wise.</summary>
internal static class Check
{
    public static void Close(Tensor actual, Tensor expected, double atol = 1e-5, double rtol = 1e-4, string because = "")
    {
        actual.shape.Should().Equal(expected.shape, because);
        using var a = actual.to(ScalarType.Float64);
        using var e = expected.to(ScalarType.Float64);
        var av = a.ToArray<double>();
        var ev = e.ToArray<double>();
        for (int i = 0; i < av.Length; i++)
        {
            var tol = atol + rtol * Math.Abs(ev[i]);
            if (!(Math.Abs(av[i] - ev[i]) <= tol))
                throw new Xunit.Sdk.XunitException($"element {i}: {av[i]} vs expected {ev[i]} (tol {tol}) {because}");
        }
    }

    public static void Values(Tensor actual, params double[] expected)
    {
        using var e = tensor<double>(expected.AsSpan(), actual.shape);
        Close(actual, e, 1e-6, 1e-6);
    }
}
