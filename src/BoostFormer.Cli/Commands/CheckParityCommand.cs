using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BoostFormer.Models;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer check-parity &lt;fixture-dir&gt; [--tolerance 1e-4] [--json]</c>: builds the model described by the fixture's
/// config.json, loads weights.safetensors, runs input.safetensors in eval mode and compares logits and hidden states (max
/// absolute difference), loss and gradients (relative to the max |expected|) with expected.safetensors. Exit code
/// (<see cref="ExitCodes"/>) 0 when every output is within tolerance, 1 when one is not, 2 when the fixture cannot be read.
/// </summary>
public sealed class CheckParityCommand : ICliCommand
{
    public Command Build()
    {
        var dir = new Argument<DirectoryInfo>("fixture-dir") { Description = "Fixture folder with config.json, weights/input/expected.safetensors." };
        var tol = new Option<double>("--tolerance") { Description = "Bound for every criterion (absolute for logits/hidden states, relative for loss/gradients).", DefaultValueFactory = _ => 1e-4 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var cmd = new Command("check-parity", "Compare the model against a PyTorch reference fixture (logits, hidden states, loss, gradients).");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(tol);
        cmd.Options.Add(json);
        cmd.SetAction(parse => ExitCodes.Run(() =>
        {
            var d = parse.GetValue(dir)!;
            var t = parse.GetValue(tol);
            if (!(t > 0)) throw new ArgumentException($"--tolerance must be positive, got {t.ToString(CultureInfo.InvariantCulture)}");
            ParityReport report;
            // Whatever stops the fixture from being read is bad input, not a failed comparison.
            try { report = ParityCheck.Run(d.FullName, t); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException) { return ExitCodes.Fail(e.Message, ExitCodes.Usage); }
            if (parse.GetValue(json))
            {
                var o = new
                {
                    fixture = report.Fixture,
                    model = report.Config.SwitchSummary(),
                    parameters = report.ParameterCount,
                    unused_checkpoint_keys = report.Load.ignored,
                    passed = report.Passed,
                    outputs = report.Items.Select(i => new { name = i.Name, criterion = i.Criterion, max_abs = i.MaxAbsDiff, max_rel = i.MaxRelDiff, tolerance = i.Tolerance, passed = i.Passed }),
                };
                Console.WriteLine(JsonSerializer.Serialize(o, new JsonSerializerOptions { WriteIndented = true }));
            }
            else Console.WriteLine(report.Format());
            return report.Passed ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return cmd;
    }
}
