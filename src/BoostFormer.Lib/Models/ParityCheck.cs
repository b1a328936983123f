using System.Globalization;
using TorchSharp;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>One compared output of a parity fixture.</summary>
/// <param name="Name">Output name (<c>logits</c>, <c>hidden_states.0</c>, <c>loss</c>, <c>grad.&lt;param&gt;</c>).</param>
/// <param name="Criterion"><c>abs</c> (max absolute difference) or <c>rel</c> (max absolute difference over the max |expected|).</param>
/// <param name="MaxAbsDiff">max |ours − expected|.</param>
/// <param name="MaxRelDiff">max |ours − expected| / max |expected|.</param>
/// <param name="Tolerance">Bound applied to the criterion.</param>
public sealed record ParityItem(string Name, string Criterion, double MaxAbsDiff, double MaxRelDiff, double Tolerance)
{
    /// <summary>The value compared against <see cref="Tolerance"/>.</summary>
    public double Measured => Criterion == "abs" ? MaxAbsDiff : MaxRelDiff;
    public bool Passed => Measured <= Tolerance && !double.IsNaN(Measured);
}

/// <summary>Result of <see cref="ParityCheck.Run"/>.</summary>
public sealed record ParityReport(string Fixture, SegformerConfig Config, long ParameterCount, CheckpointLoadReport Load, IReadOnlyList<ParityItem> Items)
{
    public bool Passed => Items.Count > 0 && Items.All(i => i.Passed);

    /// <summary>What was not compared and why (e.g. logits of a decoder that draws random NMF bases every forward).</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();

    /// <summary>A plain-text table: one line per output.</summary>
    public string Format()
    {
        var lines = new List<string>
        {
            $"fixture {Fixture} ({Config.SwitchSummary()}, {ParameterCount:N0} parameters)",
        };
        if (Load.ignored.Count > 0) lines.Add($"  unused checkpoint keys: {string.Join(", ", Load.ignored)}");
        lines.Add(string.Format(CultureInfo.InvariantCulture, "  {0,-70} {1,12} {2,12} {3,5} {4,9} {5}", "output", "max_abs", "max_rel", "crit", "tol", "result"));
        foreach (var i in Items)
            lines.Add(string.Format(CultureInfo.InvariantCulture, "  {0,-70} {1,12:E3} {2,12:E3} {3,5} {4,9:E1} {5}", i.Name, i.MaxAbsDiff, i.MaxRelDiff, i.Criterion, i.Tolerance, i.Passed ? "ok" : "FAIL"));
        foreach (var n in Notes) lines.Add("  note: " + n);
        lines.Add(Passed ? "PASS" : "FAIL");
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// Checks the model against a parity fixture folder (format in <c>shared/fixtures/README.md</c>): <c>config.json</c>,
/// <c>weights.safetensors</c>, <c>input.safetensors</c> (<c>pixel_values</c>, <c>labels</c>) and <c>expected.safetensors</c>
/// (<c>logits</c>, <c>hidden_states.0..3</c>, <c>loss</c>, <c>grad.&lt;param&gt;</c>). In eval mode it compares logits and
/// hidden states by max absolute difference, and the loss and every listed gradient by difference relative to the max |expected|.
/// A fixture may hold only some outputs — e.g. only <c>hidden_states.0..3</c>, for models whose decoder is random in every
/// forward (the HamBurger heads draw their NMF bases afresh, so logits, loss and gradients cannot match across engines);
/// for such a model any logits, loss or gradients in the fixture are skipped with a note.
/// </summary>
public static class ParityCheck
{
    /// <summary>Runs the check. <paramref name="tolerance"/> bounds every criterion (1e-4 by default).</summary>
    public static ParityReport Run(string fixtureDir, double tolerance = 1e-4)
    {
        if (!Directory.Exists(fixtureDir)) throw new DirectoryNotFoundException($"fixture folder not found: {fixtureDir}");
        string F(string n)
        {
            var p = Path.Combine(fixtureDir, n);
            if (!File.Exists(p)) throw new FileNotFoundException($"fixture {fixtureDir} has no {n}", p);
            return p;
        }
        var config = SegformerConfig.FromJson(F("config.json"));
        using var scope = NewDisposeScope();
        manual_seed(0);
        using var model = new SegformerForSemanticSegmentation(config);
        var load = CheckpointImport.LoadInto(model, F("weights.safetensors"), strict: true);
        model.eval();
        var inputs = Safetensors.Load(F("input.safetensors"));
        var expected = Safetensors.Load(F("expected.safetensors"));
        if (!inputs.TryGetValue("pixel_values", out var pixels)) throw new InvalidDataException($"{F("input.safetensors")}: no 'pixel_values' tensor");
        inputs.TryGetValue("labels", out var labels);

        var items = new List<ParityItem>();
        var notes = new List<string>();
        var randomHead = model.decode_head.modules().OfType<HamNmf2D>().Any();
        if (randomHead && expected.Keys.Any(k => k == "logits" || k == "loss" || k.StartsWith("grad.", StringComparison.Ordinal)))
            notes.Add("logits, loss and gradients not compared: the decoder draws random NMF bases in every forward (HamBurger), so only the encoder hidden states can match across engines");
        if (!expected.Keys.Any(k => k == "logits")) notes.Add("the fixture holds no logits");
        using (enable_grad())
        {
            model.zero_grad();
            using var output = model.forward(pixels, labels, output_hidden_states: true);
            foreach (var (name, exp) in expected.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                if (name == "logits" && randomHead) continue;
                if (name == "logits") items.Add(Compare(name, output.logits, exp, "abs", tolerance));
                else if (name.StartsWith("hidden_states.", StringComparison.Ordinal))
                {
                    var idx = int.Parse(name["hidden_states.".Length..], CultureInfo.InvariantCulture);
                    if (idx >= output.hidden_states!.Count) throw new InvalidDataException($"fixture has {name} but the model has {output.hidden_states.Count} stages");
                    items.Add(Compare(name, output.hidden_states[idx], exp, "abs", tolerance));
                }
            }
            if (!randomHead && expected.TryGetValue("loss", out var expLoss))
            {
                if (output.loss is null) throw new InvalidDataException($"{fixtureDir}: expected has a loss but input.safetensors has no labels");
                items.Add(Compare("loss", output.loss.reshape(-1), expLoss.reshape(-1), "rel", tolerance));
                output.loss.backward();
                var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                foreach (var (name, exp) in expected.Where(k => k.Key.StartsWith("grad.", StringComparison.Ordinal)).OrderBy(k => k.Key, StringComparer.Ordinal))
                {
                    var pname = name["grad.".Length..];
                    if (!parameters.TryGetValue(pname, out var p))
                    {
                        if (load.ignored.Contains(pname)) continue; // e.g. the reference's unused linear_fuse
                        throw new InvalidDataException($"{fixtureDir}: expected gradient {name} names no parameter of the model");
                    }
                    var g = p.grad ?? zeros_like(p);
                    items.Add(Compare(name, g, exp, "rel", tolerance));
                }
            }
        }
        if (items.Count == 0) notes.Add("the fixture holds no output this model can be compared on (logits, hidden_states.0..3, loss, grad.*)");
        return new ParityReport(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(fixtureDir))), config, model.parameter_count(), load, items) { Notes = notes };
    }

    private static ParityItem Compare(string name, Tensor ours, Tensor expected, string criterion, double tol)
    {
        if (!ours.shape.SequenceEqual(expected.shape))
            throw new InvalidDataException($"{name}: shape [{string.Join(", ", ours.shape)}] differs from the expected [{string.Join(", ", expected.shape)}]");
        using var scope = NewDisposeScope();
        var diff = (ours.detach().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        var scale = expected.to(ScalarType.Float64).abs().max().item<double>();
        var rel = scale > 0 ? diff / scale : (diff == 0 ? 0 : double.PositiveInfinity);
        return new ParityItem(name, criterion, diff, rel, tol);
    }
}
