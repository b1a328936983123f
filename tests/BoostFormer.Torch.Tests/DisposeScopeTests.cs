using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

[Collection(MemoryMeasurement.Name)]
public class DisposeScopeTests
{
    [Fact]
    public void ScopeDisposesEveryTensorCreatedInside()
    {
        Tensor a, b, c;
        using (var scope = NewDisposeScope())
        {
            a = ones(3);
            b = a + 1;
            c = b.sum();
            scope.Count.Should().Be(3);
        }
        a.IsInvalid.Should().BeTrue();
        b.IsInvalid.Should().BeTrue();
        c.IsInvalid.Should().BeTrue();
    }

    private static long RssBytes() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

    [Fact]
    public void ClosingAScopeReleasesNativeMemory()
    {
        const long n = 64L * 1024 * 1024; // 256 MiB of float32, touched by ones()
        var before = RssBytes();
        using (NewDisposeScope())
        {
            var big = ones(n);
            (RssBytes() - before).Should().BeGreaterThan(200L * 1024 * 1024);
        }
        (RssBytes() - before).Should().BeLessThan(32L * 1024 * 1024, "the scope freed the 256 MiB tensor");
    }

    [Fact]
    public void MoveToOuterDisposeScopeSurvivesTheInnerScopeOnly()
    {
        Tensor kept, inner;
        using (var outer = NewDisposeScope())
        {
            using (var scope = NewDisposeScope())
            {
                inner = ones(2);
                kept = (inner * 3).MoveToOuterDisposeScope();
                scope.Count.Should().Be(1);
                outer.Count.Should().Be(1);
            }
            inner.IsInvalid.Should().BeTrue();
            kept.IsInvalid.Should().BeFalse();
            Check.Values(kept, 3, 3);
        }
        kept.IsInvalid.Should().BeTrue("the outer scope owns it now");
    }

    [Fact]
    public void MovingOutOfTheOutermostScopeHandsOwnershipToTheCaller()
    {
        Tensor t;
        using (NewDisposeScope()) t = ones(2).MoveToOuterDisposeScope();
        t.IsInvalid.Should().BeFalse();
        t.Dispose();
        t.IsInvalid.Should().BeTrue();
    }

    [Fact]
    public void DetachFromDisposeScopeAndExplicitDisposeInsideScope()
    {
        Tensor detached, early;
        using (var scope = NewDisposeScope())
        {
            detached = ones(2).DetachFromDisposeScope();
            early = zeros(2);
            early.Dispose();
            scope.Count.Should().Be(0, "explicitly disposed tensors leave their scope");
        }
        detached.IsInvalid.Should().BeFalse();
        detached.Dispose();
    }

    [Fact]
    public void TensorsOutsideAnyScopeAreNotTracked()
    {
        using var t = ones(1);
        using (var scope = NewDisposeScope())
        {
            using var u = t + 1;
        }
        t.IsInvalid.Should().BeFalse();
    }

    [Fact]
    public void MoveToOtherScopeAndOutOfOrderClose()
    {
        var a = NewDisposeScope();
        var b = NewDisposeScope();
        var t = ones(1);
        var keep = ones(1);
        a.Include(keep);
        a.Count.Should().Be(1);
        a.Dispose(); // closed before the inner scope
        keep.IsInvalid.Should().BeTrue();
        t.MoveToOuterDisposeScope(); // outer is gone: the caller owns it
        b.Dispose();
        t.IsInvalid.Should().BeFalse();
        t.Dispose();
    }

    [Fact]
    public void WrappedTensorDisposeScopeKeepsOnlyTheResult()
    {
        Tensor tmp = null!;
        using var r = WrappedTensorDisposeScope(() => { tmp = ones(2) * 2; return tmp + 1; });
        tmp.IsInvalid.Should().BeTrue();
        Check.Values(r, 3, 3);
    }

    [Fact]
    public void ResultsOfMultiOutputOpsAreScoped()
    {
        Tensor[] parts;
        Tensor v, i;
        using (NewDisposeScope())
        {
            parts = arange(6).chunk(3);
            (v, i) = ones(2, 2).max(1);
        }
        parts.Should().OnlyContain(p => p.IsInvalid);
        v.IsInvalid.Should().BeTrue();
        i.IsInvalid.Should().BeTrue();
    }
}
