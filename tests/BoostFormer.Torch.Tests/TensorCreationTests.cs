using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class TensorCreationTests
{
    [Fact]
    public void ZerosOnesFullHaveShapeDtypeAndValues()
    {
        using var z = zeros(2, 3);
        z.shape.Should().Equal(2, 3);
        z.dtype.Should().Be(ScalarType.Float32);
        z.ToArray<float>().Should().OnlyContain(v => v == 0);
        using var o = ones(new long[] { 4 }, ScalarType.Int64);
        o.ToArray<long>().Should().Equal(1, 1, 1, 1);
        using var f = full(new long[] { 2, 2 }, 2.5);
        f.dtype.Should().Be(ScalarType.Float32);
        f.ToArray<float>().Should().Equal(2.5f, 2.5f, 2.5f, 2.5f);
        using var fi = full(new long[] { 3 }, 7);
        fi.dtype.Should().Be(ScalarType.Int64);
        using var fb = full(new long[] { 2 }, true);
        fb.dtype.Should().Be(ScalarType.Bool);
        fb.ToArray<bool>().Should().Equal(true, true);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void EveryListedDtypeRoundTrips(ScalarType dt)
    {
        using var t = ones(new long[] { 2, 3 }, dt);
        t.dtype.Should().Be(dt);
        t.element_size().Should().Be(ElementSize(dt));
        using var d = t.to(ScalarType.Float64);
        d.ToArray<double>().Should().Equal(1, 1, 1, 1, 1, 1);
    }

    [Fact]
    public void ArangeAndLinspace()
    {
        using var a = arange(5);
        a.dtype.Should().Be(ScalarType.Int64);
        a.ToArray<long>().Should().Equal(0, 1, 2, 3, 4);
        using var b = arange(1.0, 2.0, 0.25);
        b.dtype.Should().Be(ScalarType.Float32);
        b.ToArray<float>().Should().Equal(1f, 1.25f, 1.5f, 1.75f);
        using var l = linspace(0, 1, 5, ScalarType.Float64);
        l.ToArray<double>().Should().Equal(0, 0.25, 0.5, 0.75, 1);
    }

    [Fact]
    public void RandomCreationIsSeededAndInRange()
    {
        manual_seed(42);
        using var r1 = rand(1000);
        manual_seed(42);
        using var r2 = rand(1000);
        r1.equal(r2).Should().BeTrue();
        r1.ToArray<float>().Should().OnlyContain(v => v >= 0 && v < 1);

        using var n = randn(new long[] { 20000 }, ScalarType.Float64);
        using var m = n.mean();
        using var s = n.std();
        m.item<double>().Should().BeApproximately(0, 0.05);
        s.item<double>().Should().BeApproximately(1, 0.05);

        using var ri = randint(3, 7, new long[] { 500 });
        ri.dtype.Should().Be(ScalarType.Int64);
        var v = ri.ToArray<long>();
        v.Should().OnlyContain(x => x >= 3 && x < 7);
        v.Distinct().Should().HaveCount(4);
    }

    [Fact]
    public void PythonSeedGivesTheSameRandomNumbersAsPyTorch()
    {
        // torch.manual_seed(0); torch.rand(3) in PyTorch 1.13.1 CPU
        manual_seed(0);
        using var r = rand(3);
        r.ToArray<float>().Should().Equal(0.4962566f, 0.7682218f, 0.08847743f);
    }

    [Fact]
    public void FromArraysSpansAndMultiDimensionalArrays()
    {
        var src = new float[] { 1, 2, 3, 4, 5, 6 };
        using var t = tensor(src, 2, 3);
        t.shape.Should().Equal(2, 3);
        src[0] = 100; // the tensor holds its own copy
        t.ToArray<float>().Should().Equal(1, 2, 3, 4, 5, 6);

        ReadOnlySpan<double> span = stackalloc double[] { 1.5, -2.5 };
        using var ts = tensor(span);
        ts.dtype.Should().Be(ScalarType.Float64);
        ts.ToArray<double>().Should().Equal(1.5, -2.5);

        using var m = tensor(new long[,] { { 1, 2 }, { 3, 4 } });
        m.shape.Should().Equal(2, 2);
        m.ToArray<long>().Should().Equal(1, 2, 3, 4);

        using var b = tensor(new[] { true, false, true });
        b.dtype.Should().Be(ScalarType.Bool);
        b.ToArray<bool>().Should().Equal(true, false, true);

        using var i32 = tensor(new[] { 1, 2 });
        i32.dtype.Should().Be(ScalarType.Int32);
        using var u8 = tensor(new byte[] { 255, 0 });
        u8.dtype.Should().Be(ScalarType.Byte);
        u8.ToArray<byte>().Should().Equal(255, 0);

        var bad = () => tensor(new float[] { 1, 2, 3 }, 2, 2);
        bad.Should().Throw<ArgumentException>().WithMessage("*holds 4 elements but 3*");
    }

    [Fact]
    public void AsTensorSharesMemoryWithTheArrayWithoutCopying()
    {
        var arr = new float[] { 1, 2, 3, 4, 5, 6 };
        var t = as_tensor(arr, 2, 3);
        t.shape.Should().Equal(2, 3);
        arr[0] = 10;                              // array -> tensor
        t[0, 0].item<float>().Should().Be(10);
        using (no_grad()) t.mul_(2);              // tensor -> array
        arr.Should().Equal(20, 4, 6, 8, 10, 12);
        var view = t[1];
        t.Dispose();                              // the view still holds the storage (and the pin)
        GC.Collect(); GC.WaitForPendingFinalizers();
        view.ToArray<float>().Should().Equal(8, 10, 12);
        view.Dispose();
        using var l = as_tensor(new long[] { 7, 8 });
        l.dtype.Should().Be(ScalarType.Int64);
        l.ToArray<long>().Should().Equal(7, 8);
        var bad = () => as_tensor(new double[3], 2, 2);
        bad.Should().Throw<ArgumentException>().WithMessage("*4 elements but the array has 3*");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference, Tensor) Wrap() { var a = new float[1000]; return (new WeakReference(a), as_tensor(a)); }

    [Fact]
    public void AsTensorKeepsTheArrayAliveExactlyAsLongAsTheTensor()
    {
        var (weak, t) = Wrap();
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        weak.IsAlive.Should().BeTrue("the tensor pins the array");
        t.Dispose();
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        weak.IsAlive.Should().BeFalse("disposing the last tensor releases the pin");
    }

    [Fact]
    public void DataSpanIsAZeroCopyViewOfTensorMemory()
    {
        using var t = zeros(4);
        var span = t.data<float>();
        span[2] = 9;
        t.ToArray<float>().Should().Equal(0, 0, 9, 0);
        Action wrong = () => t.data<double>();
        wrong.Should().Throw<InvalidOperationException>().WithMessage("*Float32*");
        using var tt = zeros(2, 3).t();
        Action nc = () => tt.data<float>();
        nc.Should().Throw<InvalidOperationException>().WithMessage("*contiguous*");
        tt.ToArray<float>().Should().HaveCount(6); // ToArray copies non-contiguous tensors
    }

    [Fact]
    public void ScalarTensorsAndItem()
    {
        using var s = tensor(3.5f);
        s.dim().Should().Be(0);
        s.shape.Should().BeEmpty();
        s.item<float>().Should().Be(3.5f);
        s.item().ToDouble().Should().Be(3.5);
        using var l = tensor(7L);
        l.item<long>().Should().Be(7);
        l.item<int>().Should().Be(7);
        using var b = tensor(true);
        b.item<bool>().Should().BeTrue();
        using var many = ones(2);
        var act = () => many.item();
        act.Should().Throw<TorchException>();
    }

    [Fact]
    public void LikeFactoriesAndEye()
    {
        using var x = ones(new long[] { 2, 3 }, ScalarType.Float64);
        using var z = zeros_like(x);
        z.dtype.Should().Be(ScalarType.Float64);
        z.shape.Should().Equal(2, 3);
        using var f = full_like(x, 4, ScalarType.Int64);
        f.ToArray<long>().Should().OnlyContain(v => v == 4);
        using var e = eye(3);
        e.ToArray<float>().Should().Equal(1, 0, 0, 0, 1, 0, 0, 0, 1);
    }
}
