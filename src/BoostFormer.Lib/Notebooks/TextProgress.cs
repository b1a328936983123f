namespace BoostFormer.Notebooks;

/// <summary>
/// Progress for long work inside a notebook: reports synchronously (on the reporting thread, so lines land in the
/// running cell's output in order) and prints every <c>every</c>-th report plus the last one, formatted by the caller.
/// </summary>
public sealed class TextProgress<T> : IProgress<T>
{
    private readonly Func<T, long> _step;
    private readonly Func<T, long> _total;
    private readonly Func<T, string> _format;
    private readonly long _every;

    public TextProgress(long every, Func<T, long> step, Func<T, long> total, Func<T, string> format)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "must be >= 1");
        (_every, _step, _total, _format) = (every, step, total, format);
    }

    /// <summary>Number of lines printed so far.</summary>
    public int Lines { get; private set; }

    public void Report(T value)
    {
        var s = _step(value);
        if (s % _every != 0 && s != _total(value)) return;
        Console.WriteLine(_format(value));
        Lines++;
    }
}

/// <summary>Factory for <see cref="TextProgress{T}"/> that prints about <c>lines</c> lines over a run.</summary>
public static class TextProgress
{
    public static TextProgress<T> Every<T>(long total, Func<T, long> step, Func<T, string> format, int lines = 10) =>
        new(Math.Max(1, total / Math.Max(1, lines)), step, _ => total, format);
}
