using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace BoostFormer.Notebooks;

/// <summary>How a cell ended in the kernel process.</summary>
public sealed record CellReply(bool Ok, string? ErrorName = null, string? ErrorValue = null, int? Line = null, IReadOnlyList<string>? Traceback = null,
    bool TimedOut = false, int? ExitCode = null)
{
    /// <summary>True when the kernel process ended while the cell ran (<c>Environment.Exit</c>, a crash).</summary>
    public bool KernelExited => ExitCode is not null;
}

/// <summary>
/// The runner's side of one kernel process (<c>dotnet BoostFormer.Notebooks.dll kernel</c>, see <see cref="KernelHost"/>):
/// one per notebook, as an editor starts one kernel per notebook. Running the kernel in a child process lets the runner
/// stop a cell past its time limit (the process is killed; a thread cannot be), notice a cell that ends the process
/// (<c>Environment.Exit</c>, a native crash) and report it, and give each notebook the environment and current
/// directory that parameters and relative paths need, with no BoostFormer assembly loaded before the notebook's
/// own <c>#r</c>.
/// </summary>
public sealed class KernelProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonObject> _messages = Channel.CreateUnbounded<JsonObject>();
    private readonly Queue<string> _recentErrors = new();
    private readonly TextWriter? _log;
    private readonly Task _stdout, _stderr;

    private KernelProcess(Process process, TextWriter? log)
    {
        _process = process;
        _log = log;
        _stdout = Task.Run(ReadStdoutAsync);
        _stderr = Task.Run(ReadStderrAsync);
        // A runner that is stopped (Ctrl-C, SIGTERM) takes its kernel with it: a cell that is still computing would not
        // notice its input closing and would keep the CPU busy.
        AppDomain.CurrentDomain.ProcessExit += OnRunnerExit;
    }

    private void OnRunnerExit(object? sender, EventArgs e) => Kill();

    /// <summary>The kernel program: this assembly.</summary>
    public static string KernelAssembly => typeof(KernelProcess).Assembly.Location;

    /// <summary>
    /// Starts a kernel with <paramref name="workingDirectory"/> as its current directory and <paramref name="environment"/>
    /// applied to this process's environment (a null value removes a variable), and waits until it is ready.
    /// </summary>
    public static async Task<KernelProcess> StartAsync(string workingDirectory, IReadOnlyDictionary<string, string?> environment, TextWriter? log, TimeSpan startTimeout)
    {
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(host)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8, StandardInputEncoding = new UTF8Encoding(false),
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(KernelAssembly);
        psi.ArgumentList.Add(KernelProtocol.KernelVerb);
        foreach (var (name, value) in environment)
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start the kernel process ({host} {KernelAssembly})");
        var kernel = new KernelProcess(process, log);
        using var cts = new CancellationTokenSource(startTimeout);
        try
        {
            while (await kernel._messages.Reader.WaitToReadAsync(cts.Token))
                if (kernel._messages.Reader.TryRead(out var m) && m["event"]?.GetValue<string>() == "ready") return kernel;
        }
        catch (OperationCanceledException) { }
        await kernel.DisposeAsync();
        throw new InvalidOperationException($"the kernel process did not start ({host} {KernelAssembly} {KernelProtocol.KernelVerb}" +
            (process.HasExited ? $", exit code {process.ExitCode}" : $", no answer within {startTimeout.TotalSeconds} s") + ")" + kernel.RecentErrors(": "));
    }

    private async Task ReadStdoutAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            var (stray, message) = KernelProtocol.Parse(line);
            if (stray.Length > 0) _log?.WriteLine($"    kernel: {stray}");
            if (message is not null) _messages.Writer.TryWrite(message);
        }
        await _stderr;
        _messages.Writer.TryComplete();
    }

    private async Task ReadStderrAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_recentErrors)
            {
                _recentErrors.Enqueue(line);
                while (_recentErrors.Count > 20) _recentErrors.Dequeue();
            }
            _log?.WriteLine($"    kernel: {line}");
        }
    }

    private string RecentErrors(string prefix)
    {
        lock (_recentErrors)
            return _recentErrors.Count == 0 ? "" : prefix + string.Join(" | ", _recentErrors.Where(l => l.Trim().Length > 0).TakeLast(3));
    }

    /// <summary>
    /// Runs one cell's code in the kernel named <paramref name="kernelName"/>, writing its outputs as they come, and
    /// returns how it ended: done (ok or an error from the kernel), past <paramref name="timeout"/> (the process is then
    /// killed) or with the kernel process gone.
    /// </summary>
    public async Task<CellReply> ExecuteAsync(string code, string kernelName, CellOutputs outputs, int executionCount, TimeSpan? timeout)
    {
        if (_process.HasExited) return new CellReply(false, "KernelExited", "the kernel process is not running", ExitCode: _process.ExitCode);
        var request = new JsonObject { ["code"] = code, ["kernel"] = kernelName };
        await _process.StandardInput.WriteLineAsync(request.ToJsonString());
        await _process.StandardInput.FlushAsync();

        using var cts = timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        try
        {
            while (await _messages.Reader.WaitToReadAsync(cts.Token))
            {
                if (!_messages.Reader.TryRead(out var m)) continue;
                var data = m["data"] as JsonObject;
                switch (m["event"]?.GetValue<string>())
                {
                    case "stream":
                        outputs.Write(m["name"]!.GetValue<string>(), m["text"]!.GetValue<string>());
                        break;
                    case "display":
                        outputs.Display(Bundle(data), m["id"]?.GetValue<string>());
                        break;
                    case "update":
                        outputs.Update(m["id"]!.GetValue<string>(), Bundle(data));
                        break;
                    case "result":
                        outputs.Result(Bundle(data), executionCount);
                        break;
                    case "done":
                        if (m["ok"]!.GetValue<bool>()) return new CellReply(true);
                        var traceback = m["traceback"]?.AsArray().Select(l => l!.GetValue<string>()).ToList() ?? new List<string>();
                        var reply = new CellReply(false, m["ename"]!.GetValue<string>(), m["evalue"]!.GetValue<string>(), m["line"]?.GetValue<int>(), traceback);
                        outputs.Error(reply.ErrorName!, reply.ErrorValue!, traceback);
                        return reply;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Kill();
            var limit = timeout!.Value.TotalSeconds.ToString(CultureInfo.InvariantCulture);
            var msg = $"the cell did not finish within {limit} s (--timeout-per-cell)";
            outputs.Error("TimeoutException", msg, new[] { "TimeoutException: " + msg });
            return new CellReply(false, nameof(TimeoutException), msg, TimedOut: true);
        }

        // The protocol ended without "done": the process is gone.
        await _process.WaitForExitAsync();
        var exit = _process.ExitCode;
        var message = $"the cell ended the kernel process (exit code {exit}): Environment.Exit or a crash; in Polyglot Notebooks or Jupyter the kernel would restart and lose every variable" + RecentErrors("; its last error output: ");
        outputs.Error("KernelExited", message, new[] { "KernelExited: " + message });
        return new CellReply(false, "KernelExited", message, ExitCode: exit);
    }

    private static JsonObject Bundle(JsonObject? data) =>
        CellOutputs.Bundle((data ?? new JsonObject()).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.GetValue<string>() ?? "")));

    private void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* exited meanwhile */ }
    }

    /// <summary>Closes the kernel's input (it then exits), and kills it if it has not exited within a few seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnRunnerExit;
        try { _process.StandardInput.Close(); } catch (IOException) { }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { Kill(); await _process.WaitForExitAsync(); }
        try { await Task.WhenAll(_stdout, _stderr).WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        _process.Dispose();
    }
}
