namespace BoostFormer.Profiling;

/// <summary>
/// What this CPU offers the engine, from Linux's <c>/proc/cpuinfo</c>: the model name and whether bf16 has native
/// instructions (AVX512-BF16 or AMX-BF16). Without them oneDNN emulates bf16 through fp32 conversions and a bf16 forward
/// is many times slower than fp32 (measured on an AMD EPYC without AVX-512: a 1024³ matmul at 0.9 GMAC/s in bf16
/// against 14 in fp32), so the benchmarks and the bf16 paths say so instead of reporting a slowdown without a cause.
/// </summary>
public sealed record CpuFeatures(string Model, IReadOnlySet<string> Flags)
{
    /// <summary>AVX512-BF16 or AMX-BF16: bf16 matmuls and convolutions run natively.</summary>
    public bool NativeBf16 => Flags.Contains("avx512_bf16") || Flags.Contains("amx_bf16");

    /// <summary>AVX-512 Foundation.</summary>
    public bool Avx512 => Flags.Contains("avx512f");

    /// <summary>One line: model, AVX-512 and bf16 support.</summary>
    public string Describe() =>
        $"CPU {Model}: AVX-512 {(Avx512 ? "yes" : "no")}, native bf16 {(NativeBf16 ? "yes" : "no (bf16 is emulated and slower than fp32)")}";

    /// <summary>
    /// The warning a bf16 run prints on a CPU without native bf16, or null when bf16 is native or the CPU is unknown.
    /// </summary>
    public string? Bf16Warning() => Flags.Count == 0 || NativeBf16
        ? null
        : $"warning: this CPU ({Model}) has no AVX512-BF16 or AMX-BF16: bf16 is emulated by oneDNN and runs slower than fp32; bf16 speed ratios measured here do not describe a bf16 CPU";

    private static readonly Lazy<CpuFeatures> _current = new(() =>
    {
        try { return Parse(File.ReadAllText("/proc/cpuinfo")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Parse(""); }
    });

    /// <summary>This machine's CPU (read once; "unknown" with no flags where <c>/proc/cpuinfo</c> is unreadable).</summary>
    public static CpuFeatures Current => _current.Value;

    /// <summary>Parses the text of <c>/proc/cpuinfo</c>: the first processor's <c>model name</c> and <c>flags</c>.</summary>
    public static CpuFeatures Parse(string cpuinfo)
    {
        string model = "unknown";
        var flags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key == "model name" && model == "unknown") model = value;
            else if (key == "flags" && flags.Count == 0) flags.UnionWith(value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        return new CpuFeatures(model, flags);
    }
}
