namespace BoostFormer.Notebooks;

/// <summary>
/// Members every cell run by the headless runner can use directly, as in Polyglot Notebooks: <c>display(x)</c>, plus
/// <c>CancellationToken</c> (cancelled when the cell passes its time limit, for long loops that want to stop cleanly).
/// Parameters are in the static class <see cref="Parameters"/>, which also works outside the runner.
/// </summary>
public class NotebookGlobals
{
    internal CellOutputs? Outputs { get; set; }

    /// <summary>Cancelled when the running cell exceeds <c>--timeout-per-cell</c>.</summary>
    public CancellationToken CancellationToken { get; internal set; }

    /// <summary>Shows <paramref name="value"/> as a <c>display_data</c> output of the running cell (rich types as HTML, PNG, SVG, Markdown).</summary>
    public void display(object? value)
    {
        if (Outputs is null) throw new InvalidOperationException("display() was called outside a running notebook cell");
        Outputs.Display(value);
    }

    /// <summary>Shows Markdown text as a <c>text/markdown</c> output.</summary>
    public void markdown(string text)
    {
        if (Outputs is null) throw new InvalidOperationException("markdown() was called outside a running notebook cell");
        Outputs.DisplayRaw(BoostFormer.Visualization.MimeTypes.Markdown, text);
    }
}
