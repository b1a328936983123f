namespace BoostFormer.Profiling;

/// <summary>
/// The process's resident memory from Linux's <c>/proc/self</c>: the current resident set, its peak (<c>VmHWM</c>), and a
/// reset of that peak (writing 5 to <c>/proc/self/clear_refs</c>, Linux ≥ 4.0) so a measurement sees only its own peak.
/// LibTorch's CPU allocator keeps no statistics, so peak resident memory is the measure of what a forward or a training
/// step needs. Elsewhere every method answers -1 / false.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Current resident bytes (<c>/proc/self/statm</c>), or -1.</summary>
    public static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1]) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { return -1; }
    }

    /// <summary>Peak resident bytes since start or the last <see cref="ResetPeak"/> (<c>VmHWM</c>), or -1.</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0]) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return -1;
    }

    /// <summary>Resets the peak to the current resident set; false when the system does not allow it.</summary>
    public static bool ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
