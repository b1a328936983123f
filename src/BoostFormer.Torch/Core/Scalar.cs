namespace BoostFormer.Torch;

/// <summary>A number passed to or returned from an operator: an integer, a floating value or a boolean.</summary>
public readonly struct Scalar
{
    internal readonly double Double;
    internal readonly long Long;
    internal readonly bool IsFloating;
    internal readonly bool IsBool;

    public Scalar(double v) { Double = v; Long = (long)v; IsFloating = true; IsBool = false; }
    public Scalar(long v) { Long = v; Double = v; IsFloating = false; IsBool = false; }
    public Scalar(bool v) { Long = v ? 1 : 0; Double = Long; IsFloating = false; IsBool = true; }

    public static implicit operator Scalar(double v) => new(v);
    public static implicit operator Scalar(float v) => new((double)v);
    public static implicit operator Scalar(long v) => new(v);
    public static implicit operator Scalar(int v) => new((long)v);
    public static implicit operator Scalar(bool v) => new(v);

    public double ToDouble() => Double;
    public float ToSingle() => (float)Double;
    public long ToInt64() => Long;
    public int ToInt32() => checked((int)Long);
    public bool ToBoolean() => Long != 0;

    public override string ToString() => IsFloating ? Double.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : IsBool ? (Long != 0 ? "True" : "False") : Long.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
