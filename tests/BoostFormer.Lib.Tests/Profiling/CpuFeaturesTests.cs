using BoostFormer.Profiling;

namespace BoostFormer.Lib.Tests.Profiling;

/// <summary><see cref="CpuFeatures"/> reads the model name and flags of /proc/cpuinfo and tells native bf16 from emulated.</summary>
public class CpuFeaturesTests
{
    private const string IntelBf16 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16\n\nprocessor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n";
    private const string EpycNoAvx512 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n";

    [Fact]
    public void A_cpu_with_avx512_bf16_runs_bf16_natively_and_gets_no_warning()
    {
        var cpu = CpuFeatures.Parse(IntelBf16);
        cpu.Model.Should().Be("Intel(R) Xeon(R) Platinum 8481C", "the first processor's model name");
        cpu.Avx512.Should().BeTrue();
        cpu.NativeBf16.Should().BeTrue();
        cpu.Bf16Warning().Should().BeNull();
        cpu.Describe().Should().Contain("native bf16 yes");
    }

    [Fact]
    public void A_cpu_without_bf16_instructions_gets_a_warning_naming_it()
    {
        var cpu = CpuFeatures.Parse(EpycNoAvx512);
        cpu.Avx512.Should().BeFalse();
        cpu.NativeBf16.Should().BeFalse();
        cpu.Bf16Warning().Should().StartWith("warning: this CPU (AMD EPYC) has no AVX512-BF16");
        cpu.Describe().Should().Contain("native bf16 no");
    }

    [Fact]
    public void An_unreadable_cpuinfo_gives_no_warning_rather_than_a_wrong_one()
    {
        var cpu = CpuFeatures.Parse("");
        cpu.Model.Should().Be("unknown");
        cpu.Bf16Warning().Should().BeNull();
    }
}
