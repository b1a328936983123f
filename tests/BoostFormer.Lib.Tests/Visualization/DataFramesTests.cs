using System.Globalization;
using BoostFormer.Models;
using BoostFormer.Profiling;
using BoostFormer.Training.Tracking;
using BoostFormer.Visualization;
using Microsoft.Data.Analysis;

namespace BoostFormer.Lib.Tests.Visualization;

public class DataFramesTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string Results()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "BoostFormer.Lib.sln"))) return Path.Combine(d.FullName, "results");
        throw new DirectoryNotFoundException("BoostFormer.Lib.sln not found above " + AppContext.BaseDirectory);
    }

    private static double? D(string s) => s.Length == 0 ? null : double.Parse(s, Inv);
    private static long? L(string s) => s.Length == 0 ? null : long.Parse(s, Inv);

    [Fact]
    public void Records_become_typed_columns_with_nulls_kept()
    {
        var f = DataFrames.FromRecords(new[] { new { Name = "a", Score = (double?)0.5, Steps = 3L, Ok = true }, new { Name = "b,c", Score = (double?)null, Steps = 4L, Ok = false } });
        f.Columns.Select(c => c.GetType()).Should().Equal(typeof(StringDataFrameColumn), typeof(DoubleDataFrameColumn), typeof(Int64DataFrameColumn), typeof(BooleanDataFrameColumn));
        f.Columns["Score"][1].Should().BeNull();
        f.Columns["Score"].NullCount.Should().Be(1);
        DataFrames.ToCsv(f).Should().Be("Name,Score,Steps,Ok\na,0.5,3,True\n\"b,c\",,4,False\n");
        DataFrames.ToMarkdown(f).Should().Be("| Name | Score | Steps | Ok |\n|---|---:|---:|---|\n| a | 0.5 | 3 | True |\n| b,c |  | 4 | False |\n");
        var t = Table.From(f, "frame");
        t.Frame.Should().BeSameAs(f);
        t.ToMarkdown().Should().StartWith("**frame**\n\n| Name |");
    }

    [Fact]
    public void Committed_finetune_results_csv_is_reproduced_byte_for_byte_from_the_DataFrame()
    {
        var path = Path.Combine(Results(), "finetune-camvid-demo.csv");
        var lines = File.ReadAllLines(path);
        var rows = lines.Skip(1).Select(l => l.Split(',')).Select(c => new RunReportRow(c[0], c[1], c[2], long.Parse(c[3], Inv), int.Parse(c[4], Inv), int.Parse(c[5], Inv),
            D(c[6]), L(c[7]), D(c[8]), D(c[9]), D(c[10]), double.Parse(c[11], Inv), double.Parse(c[12], Inv), c[13].Length == 0 ? null : c[13])).ToList();
        var frame = RunReport.ToFrame(rows);
        frame.Rows.Count.Should().Be(3);
        frame.Columns["BestValMIoU"].Should().BeOfType<DoubleDataFrameColumn>();
        DataFrames.ToCsv(frame).Should().Be(File.ReadAllText(path));
        // The Markdown table of the committed file is the display table of the same rows.
        File.ReadAllText(Path.Combine(Results(), "finetune-camvid-demo.md")).Should().Contain(RunReport.ToTable(rows).ToMarkdown());
    }

    [Fact]
    public void Committed_ablation_csv_is_reproduced_byte_for_byte_from_the_DataFrame()
    {
        var csvPath = Path.Combine(Results(), "ablation.csv");
        var variants = Ablation.Variants();
        var lines = File.ReadAllLines(csvPath).Skip(1).ToList();
        lines.Should().HaveCount(variants.Count);
        static string[] SplitCsv(string line)
        {
            var fields = new List<string>();
            var sb = new System.Text.StringBuilder();
            bool quoted = false;
            for (int i = 0; i < line.Length; i++)
            {
                char ch = line[i];
                if (quoted) { if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; } else if (ch == '"') quoted = false; else sb.Append(ch); }
                else if (ch == '"') quoted = true;
                else if (ch == ',') { fields.Add(sb.ToString()); sb.Clear(); }
                else sb.Append(ch);
            }
            fields.Add(sb.ToString());
            return fields.ToArray();
        }
        var rows = lines.Select((l, i) =>
        {
            var c = SplitCsv(l);
            c[0].Should().Be(variants[i].Name);
            c[1].Should().Be(variants[i].Config.SwitchSummary());
            var latency = c[6].Length == 0 ? null : new LatencyResult(double.Parse(c[6], Inv), double.Parse(c[7], Inv), double.Parse(c[8], Inv), 0, new double[int.Parse(c[9], Inv)], int.Parse(c[10], Inv), 1);
            return new AblationRow(variants[i], long.Parse(c[2], Inv), long.Parse(c[3], Inv), long.Parse(c[4], Inv), long.Parse(c[5], Inv), latency);
        }).ToList();
        var threads = int.Parse(SplitCsv(lines[0])[10], Inv);
        var table = new AblationTable(new AblationOptions(), rows, threads);
        table.ToFrame().Columns["params"].Should().BeOfType<Int64DataFrameColumn>();
        table.ToCsv().Should().Be(File.ReadAllText(csvPath));
        // ablation.md is the table's own document (Δ columns, notes); only its latency digits can differ from one
        // rebuilt from the CSV's two-decimal latencies (819.0549 ms → "819.1", but 819.05 → "819.0"), so compare the rest.
        static string NoLatency(string md) => System.Text.RegularExpressions.Regex.Replace(md, @"\d+\.\d \[\d+\.\d–\d+\.\d\]", "L");
        NoLatency(table.ToMarkdown()).Should().Be(NoLatency(File.ReadAllText(Path.Combine(Results(), "ablation.md"))));
    }
}
