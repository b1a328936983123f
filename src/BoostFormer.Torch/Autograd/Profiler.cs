using System.Globalization;
using System.Text;

namespace BoostFormer.Torch;

/// <summary>One row of <see cref="torch.autograd.profiler.Profile.key_averages"/>: an operator or autograd node by name.</summary>
/// <param name="Name">Operator (<c>aten::convolution</c>) or autograd node (<c>ConvolutionBackward0</c>) name.</param>
/// <param name="InputShapes">The input shapes (<c>[2, 64, 32]; [64, 32]</c>) when the profile records shapes, else empty.</param>
/// <param name="Calls">Times it ran.</param>
/// <param name="SelfCpuUs">Microseconds spent in it, excluding the operators it called.</param>
/// <param name="CpuTotalUs">Microseconds from its start to its end, including the operators it called.</param>
public sealed record ProfilerEvent(string Name, string InputShapes, long Calls, double SelfCpuUs, double CpuTotalUs);

public static partial class torch
{
    public static partial class autograd
    {
        public static partial class profiler
        {
            /// <summary>
            /// Records every operator and autograd node run on this thread until the result is disposed (PyTorch's
            /// <c>torch.autograd.profiler.profile(use_kineto=False)</c> on the CPU). Use as
            /// <c>using (var prof = profile()) { step(); }</c>, then <see cref="Profile.key_averages"/>. Timings include the
            /// profiler's own overhead (a few microseconds per operator), as in PyTorch. With <paramref name="record_shapes"/>
            /// the rows are per operator and input shapes (PyTorch's <c>key_averages(group_by_input_shape=True)</c>).
            /// </summary>
            public static Profile profile(bool record_shapes = false) => new(record_shapes);

            /// <summary>A recording started by <see cref="profile"/>; stopped by <see cref="Dispose"/>.</summary>
            public sealed class Profile : IDisposable
            {
                private IReadOnlyList<ProfilerEvent>? _events;

                internal Profile(bool recordShapes)
                {
                    Native.Check(Native.bf_profiler_start(recordShapes ? 1 : 0));
                }

                /// <summary>Stops recording (once) and aggregates the events.</summary>
                public void Dispose()
                {
                    if (_events is not null) return;
                    var text = Native.TakeString(Native.bf_profiler_stop());
                    var rows = new List<ProfilerEvent>();
                    foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var f = line.Split('\t');
                        rows.Add(new ProfilerEvent(f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture),
                            double.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture)));
                    }
                    _events = rows;
                }

                /// <summary>
                /// Per-name aggregates, most self CPU time first (PyTorch's <c>key_averages()</c> sorted by
                /// <c>self_cpu_time_total</c>). Stops the recording if it is still running.
                /// </summary>
                public IReadOnlyList<ProfilerEvent> key_averages()
                {
                    Dispose();
                    return _events!.OrderByDescending(e => e.SelfCpuUs).ToList();
                }

                /// <summary>The <paramref name="row_limit"/> rows with the most self CPU time as an aligned text table.</summary>
                public string table(int row_limit = 20)
                {
                    var rows = key_averages();
                    var total = rows.Sum(r => r.SelfCpuUs);
                    var sb = new StringBuilder();
                    var shapes = rows.Any(r => r.InputShapes.Length > 0);
                    sb.AppendLine(CultureInfo.InvariantCulture, $"{"Name",-44} {"Self CPU %",10} {"Self CPU ms",12} {"CPU total ms",12} {"# calls",8}{(shapes ? "  Input shapes" : "")}");
                    foreach (var r in rows.Take(row_limit))
                        sb.AppendLine(CultureInfo.InvariantCulture, $"{(r.Name.Length > 44 ? r.Name[..41] + "..." : r.Name),-44} {100 * r.SelfCpuUs / Math.Max(total, 1e-9),9:F1}% {r.SelfCpuUs / 1000,12:F2} {r.CpuTotalUs / 1000,12:F2} {r.Calls,8}{(shapes ? "  " + r.InputShapes : "")}");
                    sb.AppendLine(CultureInfo.InvariantCulture, $"Self CPU time total: {total / 1000:F2} ms");
                    return sb.ToString();
                }
            }
        }
    }
}
