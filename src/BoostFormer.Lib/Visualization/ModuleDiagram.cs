using System.Globalization;
using System.Net;
using System.Text;
using TorchSharp;

namespace BoostFormer.Visualization;

/// <summary>
/// A block drawn as a column of boxes, one per submodule in registration order (the order the forward pass mostly
/// follows), each labelled with its field name, layer type and parameter count; two blocks side by side show what a
/// change replaces. Residual connections are not drawn: the notebook text states them.
/// </summary>
public sealed class ModuleDiagram : SvgOutput
{
    private readonly List<(string Title, List<(string Name, string Type, long Params, int Depth)> Boxes)> _columns = new();

    private ModuleDiagram() { }

    /// <summary>One block: its submodules down to <paramref name="depth"/> levels (containers are expanded).</summary>
    public static ModuleDiagram Of(torch.nn.Module module, string? title = null, int depth = 2) =>
        new ModuleDiagram().Add(module, title ?? Profiling.Profiler.TypeName(module), depth);

    /// <summary>Two blocks side by side, e.g. the SegFormer block and its BoostFormer replacement.</summary>
    public static ModuleDiagram SideBySide(torch.nn.Module left, string leftTitle, torch.nn.Module right, string rightTitle, int depth = 2) =>
        new ModuleDiagram().Add(left, leftTitle, depth).Add(right, rightTitle, depth);

    private ModuleDiagram Add(torch.nn.Module module, string title, int depth)
    {
        var boxes = new List<(string, string, long, int)>();
        void Walk(torch.nn.Module m, string prefix, int level)
        {
            foreach (var (name, child) in m.named_children())
            {
                var path = prefix.Length == 0 ? name : prefix + "." + name;
                var isContainer = child.named_children().Any() && level < depth;
                if (isContainer && child.parameters(recurse: false).Any() is false) { Walk(child, path, level + 1); continue; }
                boxes.Add((path, Profiling.Profiler.TypeName(child), child.parameter_count(), level));
            }
            var own = m.named_parameters(recurse: false).ToList();
            foreach (var (n, p) in own) boxes.Add((prefix.Length == 0 ? n : prefix + "." + n, "Parameter", p.numel(), level));
        }
        Walk(module, "", 1);
        if (boxes.Count == 0) boxes.Add(("(no submodules)", Profiling.Profiler.TypeName(module), module.parameter_count(), 1));
        _columns.Add(($"{title} — {module.parameter_count():N0} params", boxes));
        return this;
    }

    /// <summary>The diagram as standalone SVG.</summary>
    public override string ToSvg()
    {
        const int boxW = 300, boxH = 40, gap = 16, colGap = 60, top = 40, left = 10;
        var rows = _columns.Max(c => c.Boxes.Count);
        var width = left * 2 + _columns.Count * boxW + (_columns.Count - 1) * colGap;
        var height = top + rows * (boxH + gap) + 10;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append("<defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"4\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>");
        for (int c = 0; c < _columns.Count; c++)
        {
            var (title, boxes) = _columns[c];
            var x = left + c * (boxW + colGap);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + boxW / 2}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">{Esc(title)}</text>");
            for (int i = 0; i < boxes.Count; i++)
            {
                var (name, type, p, depth) = boxes[i];
                var y = top + i * (boxH + gap);
                var indent = (depth - 1) * 12;
                var fill = type switch
                {
                    "Conv2d" => "#dbeafe", "Linear" => "#e0e7ff", "LayerNorm" or "BatchNorm2d" => "#fef3c7",
                    "GELU" or "ReLU" => "#dcfce7", "Dropout" or "SegformerDropPath" or "Identity" => "#f3f4f6", _ => "#fce7f3",
                };
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x + indent}\" y=\"{y}\" width=\"{boxW - indent}\" height=\"{boxH}\" rx=\"6\" fill=\"{fill}\" stroke=\"#555\"/>");
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + indent + 8}\" y=\"{y + 16}\">{Esc(name)}</text>");
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + indent + 8}\" y=\"{y + 32}\" fill=\"#444\">{Esc(type)}{(p > 0 ? $" · {p:N0} params" : "")}</text>");
                if (i + 1 < boxes.Count)
                    sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x + boxW / 2}\" y1=\"{y + boxH}\" x2=\"{x + boxW / 2}\" y2=\"{y + boxH + gap - 2}\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>");
            }
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    public override string ToString() => string.Join("\n", _columns.Select(c => c.Title + ": " + string.Join(" → ", c.Boxes.Select(b => $"{b.Name} ({b.Type})"))));
}
