using System.Collections;
using System.Globalization;
using System.Text.Encodings.Web;
using TorchSharp;
using BoostFormer.Visualization;
using Microsoft.AspNetCore.Html;

namespace BoostFormer.Notebooks;

/// <summary>
/// Turns a value shown in a notebook (<c>display(x)</c> or a cell's trailing expression) into a MIME bundle:
/// <see cref="IRichOutput"/> types give their own formats, <see cref="IHtmlContent"/> becomes <c>text/html</c>, tensors
/// print their shape and (small ones) values, sequences print their items, anything else its <c>ToString()</c>.
/// Library code can register formatters for its own types with <see cref="Register{T}"/>.
/// </summary>
public static class OutputFormatter
{
    private static readonly List<(Type Type, Func<object, IRichOutput> Format)> Custom = new();

    /// <summary>Shows values of type <typeparamref name="T"/> (and subtypes) through <paramref name="format"/>; later registrations win.</summary>
    public static void Register<T>(Func<T, IRichOutput> format)
    {
        lock (Custom) Custom.Insert(0, (typeof(T), o => format((T)o)));
    }

    /// <summary>Most elements printed for a sequence or tensor in <c>text/plain</c>.</summary>
    public const int MaxItems = 100;

    /// <summary>The MIME bundle of <paramref name="value"/>, most preferred first; always contains <c>text/plain</c>.</summary>
    public static IReadOnlyList<(string Mime, string Data)> Format(object? value)
    {
        var formats = new List<(string Mime, string Data)>();
        if (value is not null && !(value is IRichOutput))
        {
            Func<object, IRichOutput>? custom;
            lock (Custom) custom = Custom.FirstOrDefault(c => c.Type.IsInstanceOfType(value)).Format;
            if (custom is not null) value = custom(value);
        }
        switch (value)
        {
            case IRichOutput rich:
                foreach (var f in rich.Formats())
                    if (!formats.Any(x => x.Mime == f.Mime)) formats.Add(f);
                break;
            case IHtmlContent html:
                using (var w = new StringWriter())
                {
                    html.WriteTo(w, HtmlEncoder.Default);
                    formats.Add((MimeTypes.Html, w.ToString()));
                }
                break;
        }
        if (!formats.Any(f => f.Mime == MimeTypes.Plain)) formats.Add((MimeTypes.Plain, PlainText(value)));
        return formats;
    }

    /// <summary>The <c>text/plain</c> form of a value.</summary>
    public static string PlainText(object? value) => value switch
    {
        null => "<null>",
        string s => s,
        torch.Tensor t => TensorText(t),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary d => "{ " + string.Join(", ", d.Keys.Cast<object>().Take(MaxItems).Select(k => $"{PlainText(k)}: {PlainText(d[k])}")) + (d.Count > MaxItems ? ", …" : "") + " }",
        IEnumerable e when value.GetType().GetMethod("ToString", Type.EmptyTypes)?.DeclaringType == typeof(object) || value is Array => SequenceText(e),
        _ => value.ToString() ?? "",
    };

    private static string SequenceText(IEnumerable e)
    {
        var items = new List<string>();
        bool more = false;
        foreach (var o in e)
        {
            if (items.Count == MaxItems) { more = true; break; }
            items.Add(PlainText(o));
        }
        return "[" + string.Join(", ", items) + (more ? ", …" : "") + "]";
    }

    private static string TensorText(torch.Tensor t)
    {
        if (t.IsInvalid) return "Tensor(disposed)";
        var head = $"tensor [{string.Join(", ", t.shape)}] {t.dtype}";
        return t.numel() <= MaxItems ? head + "\n" + t.ToString(TensorStringStyle.Numpy).TrimEnd() : head;
    }
}
