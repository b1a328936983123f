using BoostFormer.Models;
using BoostFormer.Tests;
using Xunit.Abstractions;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>Parity with the PyTorch reference fixtures (shared/fixtures/parity/*): logits and hidden states ≤ 1e-4 absolute,
/// loss and gradients ≤ 1e-4 relative.</summary>
public class ParityTests
{
    private readonly ITestOutputHelper _out;
    public ParityTests(ITestOutputHelper output) { _out = output; }

    public static IEnumerable<object[]> Fixtures() => TestPaths.ParityFixtures().Select(d => new object[] { Path.GetFileName(d) });

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Fixture_matches_reference(string name)
    {
        var dir = Path.Combine(TestPaths.Fixtures, "parity", name);
        var report = ParityCheck.Run(dir, 1e-4);
        _out.WriteLine(report.Format());
        report.Items.Should().Contain(i => i.Name == "logits");
        report.Items.Count(i => i.Name.StartsWith("hidden_states.")).Should().Be(4);
        report.Items.Should().Contain(i => i.Name == "loss");
        report.Items.Count(i => i.Name.StartsWith("grad.")).Should().BeGreaterThan(0);
        report.Items.Where(i => !i.Passed).Should().BeEmpty();
        report.Passed.Should().BeTrue();
    }

    [Fact]
    public void There_are_segformer_and_boostformer_fixtures()
    {
        var names = TestPaths.ParityFixtures().Select(Path.GetFileName).ToList();
        names.Should().Contain(n => n!.StartsWith("segformer-"));
        names.Should().Contain(n => n!.StartsWith("boostformer-"));
    }

    [Fact]
    public void Boostformer_fixture_reports_the_unused_fuse_conv()
    {
        var dir = TestPaths.ParityFixtures().First(d => Path.GetFileName(d).StartsWith("boostformer-"));
        var report = ParityCheck.Run(dir, 1e-4);
        report.Load.ignored.Should().Equal("decode_head.linear_fuse.weight");
        report.Load.missing.Should().BeEmpty();
        report.Load.initialized.Should().BeEmpty();
    }
}
