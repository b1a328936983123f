using System.Text.Json;
using BoostFormer.Data;
using BoostFormer.IO;

namespace BoostFormer.Cli;

/// <summary>
/// The exit codes of every verb: <see cref="Success"/> 0; <see cref="Failure"/> 1 when the work ran and failed (a notebook
/// cell threw, parity past tolerance, a run diverged, an I/O error while working); <see cref="Usage"/> 2 for bad usage or
/// input (an unknown or invalid option, a missing or malformed file, an unknown model or dataset name). Verbs run their
/// action through <see cref="Run"/>, which prints one <c>error: …</c> line for either kind of error.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>True for the errors that mean "the input is wrong" rather than "the work failed".</summary>
    public static bool IsUsageError(Exception e) =>
        e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or DataFormatException or ImageDecodeException or InvalidDataException
            or FormatException or JsonException;

    /// <summary>The exit code of an error a verb reports in one line, or null for an unexpected one (left to propagate with its trace).</summary>
    public static int? CodeFor(Exception e) =>
        IsUsageError(e) ? Usage : e is IOException or InvalidOperationException or UnauthorizedAccessException or NotSupportedException or System.Data.Common.DbException ? Failure : null;

    /// <summary>Runs a verb's action and maps its errors to <see cref="Usage"/> or <see cref="Failure"/>.</summary>
    public static int Run(Func<int> action)
    {
        try { return action(); }
        catch (Exception e) when (CodeFor(e) is { } code) { return Fail(e.Message, code); }
    }

    /// <summary>Runs an asynchronous verb action (see <see cref="Run"/>).</summary>
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try { return await action(); }
        catch (Exception e) when (CodeFor(e) is { } code) { return Fail(e.Message, code); }
    }

    /// <summary>Prints <c>error: message</c> and returns <paramref name="code"/>.</summary>
    public static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
