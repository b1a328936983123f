using System.Globalization;
using System.Net;
using System.Text;
using TorchSharp;

namespace BoostFormer.Visualization;

/// <summary>
/// A block drawn as a column of boxes in the order its forward pass computes (<see cref="BlockDataFlow"/>): each
/// submodule with its field name, layer type and parameter count, weight-free operations (pooling, softmax, GELU) as
/// boxes of their own, and residual adds with the skip connection drawn from where it branches off. Two blocks side by
/// side show what a change replaces. A block type without a data-flow description is drawn in registration order, and
/// its title says so.
/// </summary>
public sealed class ModuleDiagram : SvgOutput
{
    private readonly List<(string Title, List<(string Name, string Type, long Params, int Depth, int? From)> Boxes)> _columns = new();

    private ModuleDiagram() { }

    /// <summary>One block: its submodules down to <paramref name="depth"/> levels (containers are expanded).</summary>
    public static ModuleDiagram Of(torch.nn.Module module, string? title = null, int depth = 2) =>
        new ModuleDiagram().Add(module, title ?? Profiling.Profiler.TypeName(module), depth);

    /// <summary>Two blocks side by side, e.g. the SegFormer block and its BoostFormer replacement.</summary>
    public static ModuleDiagram SideBySide(torch.nn.Module left, string leftTitle, torch.nn.Module right, string rightTitle, int depth = 2) =>
        new ModuleDiagram().Add(left, leftTitle, depth).Add(right, rightTitle, depth);

    private ModuleDiagram Add(torch.nn.Module module, string title, int depth)
    {
        var boxes = new List<(string, string, long, int, int?)>();
        if (BlockDataFlow.Of(module) is { } flow)
        {
            foreach (var step in flow)
            {
                if (step.ResidualFrom is { } from) { boxes.Add((step.Label, "add", 0, 1, from)); continue; }
                if (step.Module is null) { boxes.Add((step.Label, "operation (no weights)", 0, 1, null)); continue; }
                var (type, count) = BlockDataFlow.Resolve(module, step.Module) ?? ("(absent)", 0);
                boxes.Add(($"{step.Label} · {step.Module.Split('|')[0]}", type, count, 1, null));
            }
            _columns.Add(($"{title} — {module.parameter_count():N0} params", boxes));
            return this;
        }
        void Walk(torch.nn.Module m, string prefix, int level)
        {
            foreach (var (name, child) in m.named_children())
            {
                var path = prefix.Length == 0 ? name : prefix + "." + name;
                var isContainer = child.named_children().Any() && level < depth;
                if (isContainer && child.parameters(recurse: false).Any() is false) { Walk(child, path, level + 1); continue; }
                boxes.Add((path, Profiling.Profiler.TypeName(child), child.parameter_count(), level, null));
            }
            var own = m.named_parameters(recurse: false).ToList();
            foreach (var (n, p) in own) boxes.Add((prefix.Length == 0 ? n : prefix + "." + n, "Parameter", p.numel(), level, null));
        }
        Walk(module, "", 1);
        if (boxes.Count == 0) boxes.Add(("(no submodules)", Profiling.Profiler.TypeName(module), module.parameter_count(), 1, null));
        _columns.Add(($"{title} — {module.parameter_count():N0} params (registration order)", boxes));
        return this;
    }

    /// <summary>The diagram as standalone SVG.</summary>
    public override string ToSvg()
    {
        const int boxH = 40, gap = 16, skip = 26, top = 40, left = 10, charW = 7;
        // Boxes and titles as wide as their text (12 px sans-serif: about 7 px a character), so nothing is clipped.
        var boxW = Math.Max(260, _columns.SelectMany(c => c.Boxes).Max(b => Math.Max(b.Name.Length, b.Type.Length + 16)) * charW + 24);
        var colW = Math.Max(boxW + skip, _columns.Max(c => c.Title.Length) * charW + 10);
        const int colGap = 40;
        var rows = _columns.Max(c => c.Boxes.Count);
        var width = left * 2 + _columns.Count * colW + (_columns.Count - 1) * colGap;
        var height = top + rows * (boxH + gap) + 10;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append("<defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"4\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>");
        for (int c = 0; c < _columns.Count; c++)
        {
            var (title, boxes) = _columns[c];
            var x = left + c * (colW + colGap);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + colW / 2}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">{Esc(title)}</text>");
            for (int i = 0; i < boxes.Count; i++)
            {
                var (name, type, p, depth, from) = boxes[i];
                var y = top + i * (boxH + gap);
                var indent = (depth - 1) * 12;
                var fill = type switch
                {
                    "Conv2d" => "#dbeafe", "Linear" => "#e0e7ff", "LayerNorm" or "BatchNorm2d" => "#fef3c7",
                    "GELU" or "ReLU" => "#dcfce7", "Dropout" or "SegformerDropPath" or "Identity" => "#f3f4f6",
                    "add" => "#ffffff", "operation (no weights)" => "#ecfeff", _ => "#fce7f3",
                };
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x + indent}\" y=\"{y}\" width=\"{boxW - indent}\" height=\"{boxH}\" rx=\"6\" fill=\"{fill}\" stroke=\"#555\"/>");
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + indent + 8}\" y=\"{y + 16}\">{Esc(name)}</text>");
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + indent + 8}\" y=\"{y + 32}\" fill=\"#444\">{Esc(type)}{(p > 0 ? $" · {p:N0} params" : "")}</text>");
                if (i + 1 < boxes.Count)
                    sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x + boxW / 2}\" y1=\"{y + boxH}\" x2=\"{x + boxW / 2}\" y2=\"{y + boxH + gap - 2}\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>");
                if (from is { } f)
                {
                    // the skip connection: from just above step f (its input) down the right side into this add
                    var y0 = top + f * (boxH + gap) - gap / 2;
                    var xs = x + boxW + skip / 2;
                    sb.Append(CultureInfo.InvariantCulture, $"<path d=\"M{x + boxW / 2},{y0} H{xs} V{y + boxH / 2} H{x + boxW + 2}\" fill=\"none\" stroke=\"#b45309\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>");
                }
            }
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    public override string ToString() => string.Join("\n", _columns.Select(c => c.Title + ": " + string.Join(" → ", c.Boxes.Select(b => $"{b.Name} ({b.Type})"))));
}
