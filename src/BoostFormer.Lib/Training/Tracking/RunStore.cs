using System.Globalization;
using Microsoft.Data.Sqlite;

namespace BoostFormer.Training.Tracking;

/// <summary>One run as stored: identity, configuration (JSON), git commit, times and status.</summary>
public sealed record RunRecord(long Id, string Name, string Kind, string Model, string ModelConfigJson, string DataConfigJson,
    string HyperparametersJson, string? GitCommit, DateTime StartedUtc, DateTime? EndedUtc, string Status, string? Error);

/// <summary>One logged value: per training step (<c>Kind = "train"</c>) or per evaluation (<c>Kind = "eval"</c>).</summary>
public sealed record MetricRecord(long RunId, string Kind, long Step, string Name, double Value, DateTime TimeUtc);

/// <summary>
/// One row of a runs table for notebooks: identity, status, progress, the last training loss and the last and best
/// validation values (mIoU for segmentation, top-1 for pretraining).
/// </summary>
public sealed record RunSummary(long Id, string Name, string Kind, string Model, string Status, DateTime StartedUtc, DateTime? EndedUtc,
    long LastStep, double? LastLoss, double? LastValidation, double? BestValidation, string? GitCommit);

/// <summary>A file a run produced (checkpoint, best checkpoint, encoder weights, predictions).</summary>
public sealed record ArtifactRecord(long RunId, long Step, string Kind, string Path, DateTime TimeUtc);

/// <summary>
/// Run tracking in SQLite (WAL journal, so a reader such as a notebook can query while a run writes, and a crash leaves a
/// consistent file). Tables: <c>runs</c>, <c>metrics</c> (run, kind, step, name, value) and <c>artifacts</c>. A run starts
/// with status <c>running</c> and ends <c>finished</c> or <c>failed</c>; a process killed mid-run leaves it <c>running</c>.
/// Every write is its own transaction (committed immediately).
/// </summary>
public sealed class RunStore : IDisposable
{
    private readonly SqliteConnection _db;

    /// <summary>Status of a run in progress (or one whose process died).</summary>
    public const string Running = "running";
    /// <summary>Status of a run that completed.</summary>
    public const string Finished = "finished";
    /// <summary>Status of a run that stopped with an exception.</summary>
    public const string Failed = "failed";

    private RunStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=WAL;");
        Exec("PRAGMA synchronous=NORMAL;");
        Exec("PRAGMA busy_timeout=5000;");
        Exec(@"CREATE TABLE IF NOT EXISTS runs(
                 id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL,
                 model_config TEXT NOT NULL, data_config TEXT NOT NULL, hyperparameters TEXT NOT NULL, git_commit TEXT,
                 started_utc TEXT NOT NULL, ended_utc TEXT, status TEXT NOT NULL, error TEXT);
               CREATE TABLE IF NOT EXISTS metrics(
                 run_id INTEGER NOT NULL REFERENCES runs(id), kind TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL,
                 value REAL, time_utc TEXT NOT NULL);
               CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, kind, step);
               CREATE TABLE IF NOT EXISTS artifacts(
                 run_id INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
                 time_utc TEXT NOT NULL);");
    }

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>.</summary>
    public static RunStore Open(string path) => new(path);

    /// <summary>The database file.</summary>
    public string Path { get; }

    private void Exec(string sql, params (string, object?)[] args)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    private static string Now() => DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Creates a run with status <c>running</c> and returns its id.</summary>
    public long CreateRun(string name, string kind, string model, string modelConfigJson, string dataConfigJson, string hyperparametersJson, string? gitCommit = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = @"INSERT INTO runs(name, kind, model, model_config, data_config, hyperparameters, git_commit, started_utc, status)
                            VALUES($n, $k, $m, $mc, $dc, $h, $g, $t, $s); SELECT last_insert_rowid();";
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$k", kind);
        cmd.Parameters.AddWithValue("$m", model);
        cmd.Parameters.AddWithValue("$mc", modelConfigJson);
        cmd.Parameters.AddWithValue("$dc", dataConfigJson);
        cmd.Parameters.AddWithValue("$h", hyperparametersJson);
        cmd.Parameters.AddWithValue("$g", (object?)gitCommit ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$t", Now());
        cmd.Parameters.AddWithValue("$s", Running);
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>
    /// Marks a resumed run as running again and deletes its metrics and artifacts logged after <paramref name="fromStep"/>
    /// (they will be logged again), so a resumed run's history equals an uninterrupted one's.
    /// </summary>
    public void ResumeRun(long runId, long fromStep)
    {
        RequireRun(runId);
        using var tx = _db.BeginTransaction();
        Exec("DELETE FROM metrics WHERE run_id=$r AND step>$s", ("$r", runId), ("$s", fromStep));
        Exec("DELETE FROM artifacts WHERE run_id=$r AND step>$s AND kind<>'best'", ("$r", runId), ("$s", fromStep));
        Exec("UPDATE runs SET status=$st, ended_utc=NULL, error=NULL WHERE id=$r", ("$st", Running), ("$r", runId));
        tx.Commit();
    }

    /// <summary>Logs several values of one step in one transaction.</summary>
    public void LogMetrics(long runId, string kind, long step, IReadOnlyDictionary<string, double> values)
    {
        using var tx = _db.BeginTransaction();
        var t = Now();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "INSERT INTO metrics(run_id, kind, step, name, value, time_utc) VALUES($r, $k, $s, $n, $v, $t)";
        var pr = cmd.Parameters.Add("$r", SqliteType.Integer);
        var pk = cmd.Parameters.Add("$k", SqliteType.Text);
        var ps = cmd.Parameters.Add("$s", SqliteType.Integer);
        var pn = cmd.Parameters.Add("$n", SqliteType.Text);
        var pv = cmd.Parameters.Add("$v", SqliteType.Real);
        var pt = cmd.Parameters.Add("$t", SqliteType.Text);
        foreach (var (n, v) in values)
        {
            pr.Value = runId; pk.Value = kind; ps.Value = step; pn.Value = n; pt.Value = t;
            pv.Value = double.IsNaN(v) ? DBNull.Value : v;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Records an artifact path.</summary>
    public void AddArtifact(long runId, long step, string kind, string path) =>
        Exec("INSERT INTO artifacts(run_id, step, kind, path, time_utc) VALUES($r, $s, $k, $p, $t)", ("$r", runId), ("$s", step), ("$k", kind), ("$p", path), ("$t", Now()));

    /// <summary>Ends a run with <c>finished</c> or <c>failed</c> (with the error message).</summary>
    public void EndRun(long runId, string status, string? error = null)
    {
        if (status != Finished && status != Failed) throw new ArgumentException($"end status must be '{Finished}' or '{Failed}', got '{status}'", nameof(status));
        Exec("UPDATE runs SET status=$s, ended_utc=$t, error=$e WHERE id=$r", ("$s", status), ("$t", Now()), ("$e", error), ("$r", runId));
    }

    private void RequireRun(long runId)
    {
        if (Run(runId) is null) throw new ArgumentException($"run {runId} does not exist in {Path}", nameof(runId));
    }

    // ------------------------------------------------------------------------------------------------ queries
    /// <summary>All runs, newest first.</summary>
    public IReadOnlyList<RunRecord> Runs()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT id, name, kind, model, model_config, data_config, hyperparameters, git_commit, started_utc, ended_utc, status, error FROM runs ORDER BY id DESC";
        using var r = cmd.ExecuteReader();
        var list = new List<RunRecord>();
        while (r.Read())
            list.Add(new RunRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
                r.IsDBNull(7) ? null : r.GetString(7), ParseTime(r.GetString(8)), r.IsDBNull(9) ? null : ParseTime(r.GetString(9)), r.GetString(10),
                r.IsDBNull(11) ? null : r.GetString(11)));
        return list;
    }

    /// <summary>One run, or null.</summary>
    public RunRecord? Run(long runId) => Runs().FirstOrDefault(r => r.Id == runId);

    /// <summary>
    /// The newest <c>finished</c> run named <paramref name="name"/> of <paramref name="kind"/> whose recorded model, data and
    /// hyper-parameter configuration equal the given JSON strings, and whose newest artifact of each kind in
    /// <paramref name="requiredArtifacts"/> still exists on disk; null if there is none. Trainers use it to reuse a finished
    /// run (e.g. when a notebook is executed again) instead of repeating hours of training. The git commit is not compared.
    /// </summary>
    public RunRecord? FindFinished(string name, string kind, string modelConfigJson, string dataConfigJson, string hyperparametersJson,
        params string[] requiredArtifacts) =>
        FindFinished(name, kind, r => r.ModelConfigJson == modelConfigJson && r.DataConfigJson == dataConfigJson && r.HyperparametersJson == hyperparametersJson,
            requiredArtifacts);

    /// <summary>
    /// The newest <c>finished</c> run named <paramref name="name"/> of <paramref name="kind"/> whose configuration
    /// <paramref name="sameConfiguration"/> accepts and whose newest artifact of each kind in <paramref name="requiredArtifacts"/>
    /// still exists on disk; null if there is none.
    /// </summary>
    public RunRecord? FindFinished(string name, string kind, Func<RunRecord, bool> sameConfiguration, params string[] requiredArtifacts)
    {
        foreach (var r in Runs())
        {
            if (r.Status != Finished || r.Name != name || r.Kind != kind || !sameConfiguration(r)) continue;
            var artifacts = Artifacts(r.Id);
            if (requiredArtifacts.All(k => artifacts.LastOrDefault(a => a.Kind == k) is { } a && File.Exists(a.Path))) return r;
        }
        return null;
    }

    /// <summary>The run's metrics (optionally one kind and/or one name), by step.</summary>
    public IReadOnlyList<MetricRecord> Metrics(long runId, string? kind = null, string? name = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT run_id, kind, step, name, value, time_utc FROM metrics WHERE run_id=$r" +
                          (kind is null ? "" : " AND kind=$k") + (name is null ? "" : " AND name=$n") + " ORDER BY step, rowid";
        cmd.Parameters.AddWithValue("$r", runId);
        if (kind is not null) cmd.Parameters.AddWithValue("$k", kind);
        if (name is not null) cmd.Parameters.AddWithValue("$n", name);
        using var r = cmd.ExecuteReader();
        var list = new List<MetricRecord>();
        while (r.Read())
            list.Add(new MetricRecord(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.IsDBNull(4) ? double.NaN : r.GetDouble(4), ParseTime(r.GetString(5))));
        return list;
    }

    /// <summary>One metric as a (step, value) series, e.g. <c>Series(id, "train", "loss")</c> for a chart.</summary>
    public IReadOnlyList<(long step, double value)> Series(long runId, string kind, string name) =>
        Metrics(runId, kind, name).Select(m => (m.Step, m.Value)).ToList();

    /// <summary>The last evaluation's values by name (empty before any evaluation).</summary>
    public IReadOnlyDictionary<string, double> LastEvaluation(long runId)
    {
        var evals = Metrics(runId, "eval");
        if (evals.Count == 0) return new Dictionary<string, double>();
        var last = evals.Max(m => m.Step);
        return evals.Where(m => m.Step == last).ToDictionary(m => m.Name, m => m.Value);
    }

    /// <summary>The run's artifacts in order.</summary>
    public IReadOnlyList<ArtifactRecord> Artifacts(long runId)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT run_id, step, kind, path, time_utc FROM artifacts WHERE run_id=$r ORDER BY step, rowid";
        cmd.Parameters.AddWithValue("$r", runId);
        using var r = cmd.ExecuteReader();
        var list = new List<ArtifactRecord>();
        while (r.Read()) list.Add(new ArtifactRecord(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), ParseTime(r.GetString(4))));
        return list;
    }

    /// <summary>
    /// The checkpoint to look at for a trained run: the one kept as best by validation mIoU, else the last checkpoint;
    /// null when the run wrote none.
    /// </summary>
    public string? BestCheckpoint(long runId)
    {
        var artifacts = Artifacts(runId);
        return (artifacts.LastOrDefault(a => a.Kind == "best") ?? artifacts.LastOrDefault(a => a.Kind == "checkpoint"))?.Path;
    }

    /// <summary>The newest finished run called <paramref name="name"/>, or null.</summary>
    public RunRecord? LatestFinished(string name) =>
        Runs().Where(r => r.Name == name && r.Status == Finished).OrderByDescending(r => r.Id).FirstOrDefault();

    /// <summary>
    /// A summary row per run (newest first): last logged step and loss, last and best validation value (<c>miou</c> for
    /// segmentation runs, <c>top1</c> for pretraining).
    /// </summary>
    public IReadOnlyList<RunSummary> Summaries()
    {
        var list = new List<RunSummary>();
        foreach (var r in Runs())
        {
            var loss = Metrics(r.Id, "train", "loss");
            var key = r.Kind == "pretrain" ? "top1" : "miou";
            var val = Metrics(r.Id, "eval", key).Where(m => !double.IsNaN(m.Value)).ToList();
            list.Add(new RunSummary(r.Id, r.Name, r.Kind, r.Model, r.Status, r.StartedUtc, r.EndedUtc,
                loss.Count == 0 ? 0 : loss[^1].Step, loss.Count == 0 ? null : loss[^1].Value,
                val.Count == 0 ? null : val[^1].Value, val.Count == 0 ? null : val.Max(m => m.Value), r.GitCommit));
        }
        return list;
    }

    /// <summary>
    /// Per-class values of one evaluation (default: the last) as (class, value) pairs, e.g. <c>PerClass(id, "iou")</c> for a
    /// per-class IoU chart. NaN marks classes absent from both ground truth and prediction.
    /// </summary>
    public IReadOnlyList<(string className, double value)> PerClass(long runId, string metric = "iou", long? step = null)
    {
        var evals = Metrics(runId, "eval");
        if (evals.Count == 0) return Array.Empty<(string, double)>();
        var s = step ?? evals.Max(m => m.Step);
        var prefix = metric + ".";
        return evals.Where(m => m.Step == s && m.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(m => (m.Name[prefix.Length..], m.Value)).ToList();
    }

    private static DateTime ParseTime(string s) => DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <inheritdoc />
    public void Dispose()
    {
        _db.Dispose();
    }
}
