using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class IndexingTests
{
    private static Tensor M() => arange(24).reshape(2, 3, 4); // values 0..23

    [Fact]
    public void IntegerIndexSelectsAndDropsDimension()
    {
        using var x = M();
        using var a = x[1];
        a.shape.Should().Equal(3, 4);
        using var b = x[1, 2];
        b.ToArray<long>().Should().Equal(20, 21, 22, 23);
        using var c = x[0, 1, 3];
        c.item<long>().Should().Be(7);
        using var d = x[^1, ^1, ^1];
        d.item<long>().Should().Be(23);
    }

    [Fact]
    public void RangesSliceLikePython()
    {
        using var x = arange(10);
        using (var s = x[2..5]) s.ToArray<long>().Should().Equal(2, 3, 4);          // x[2:5]
        using (var s = x[..3]) s.ToArray<long>().Should().Equal(0, 1, 2);           // x[:3]
        using (var s = x[7..]) s.ToArray<long>().Should().Equal(7, 8, 9);           // x[7:]
        using (var s = x[^2..]) s.ToArray<long>().Should().Equal(8, 9);             // x[-2:]
        using (var s = x[..^8]) s.ToArray<long>().Should().Equal(0, 1);             // x[:-8]
        using (var s = x[^3..^1]) s.ToArray<long>().Should().Equal(7, 8);           // x[-3:-1]
        using (var s = x[..]) s.ToArray<long>().Should().HaveCount(10);             // x[:]
        using (var s = x[^0..]) s.numel().Should().Be(0);                            // x[len:]
        using (var s = x[0..^0]) s.ToArray<long>().Should().HaveCount(10);          // x[0:]
        using (var s = x[TensorIndex.Slice(1, null, 3)]) s.ToArray<long>().Should().Equal(1, 4, 7); // x[1::3]
        var bad = () => x[^0];
        bad.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void EllipsisNoneAndMixedIndices()
    {
        using var x = M();
        using (var s = x[TensorIndex.Ellipsis, 1]) { s.shape.Should().Equal(2, 3); s.ToArray<long>().Should().Equal(1, 5, 9, 13, 17, 21); }
        using (var s = x[TensorIndex.None, 0]) s.shape.Should().Equal(1, 3, 4);
        using (var s = x[.., TensorIndex.None, 1..3]) s.shape.Should().Equal(2, 1, 2, 4);
        using (var s = x[1, .., 2]) s.ToArray<long>().Should().Equal(14, 18, 22);
        var tooMany = () => x[0, 0, 0, 0];
        tooMany.Should().Throw<ArgumentException>().WithMessage("*too many indices*");
    }

    [Fact]
    public void SlicesAreViewsSharingStorage()
    {
        using var x = zeros(3, 4);
        using (var row = x[1]) row.fill_(5);
        x.sum().item<float>().Should().Be(20);
    }

    [Fact]
    public void TensorIndicesGatherAndAssign()
    {
        using var x = M();
        using var idx = tensor(new long[] { 2, 0 });
        using (var s = x[0, idx]) s.ToArray<long>().Should().Equal(8, 9, 10, 11, 0, 1, 2, 3);
        using (var s = x[.., idx, 1]) s.ToArray<long>().Should().Equal(9, 1, 21, 13);
        using var mask = x.gt(20);
        using (var s = x[mask]) s.ToArray<long>().Should().Equal(21, 22, 23);

        using var y = zeros(3, 4);
        using var v = ones(2, 4);
        y[idx] = v;
        using (var rows = y.sum(1)) rows.ToArray<float>().Should().Equal(4, 0, 4);
        using var w = full(new long[] { 3 }, 2.0);
        y[.., 1] = w;
        using (var col = y[.., 1]) col.ToArray<float>().Should().Equal(2, 2, 2);
    }

    [Fact]
    public void IndexSelectGatherMaskedFillNarrow()
    {
        using var x = M();
        using var i = tensor(new long[] { 3, 0 });
        using (var s = x.index_select(2, i)) s[0, 0].ToArray<long>().Should().Equal(3, 0);
        using var g = tensor(new long[] { 1, 0, 2 }).reshape(1, 3, 1);
        using (var s = x[..1].gather(2, g)) s.ToArray<long>().Should().Equal(1, 4, 10);
        using var m = x.lt(3);
        using (var s = x.masked_fill(m, -1)) s[0, 0].ToArray<long>().Should().Equal(-1, -1, -1, 3);
        using (var s = x.narrow(2, 1, 2)) s.shape.Should().Equal(2, 3, 2);
    }
}
