using System.Text.Json;

namespace BoostFormer.Training.Tracking;

/// <summary>Reading the data configuration a run recorded (<see cref="RunRecord.DataConfigJson"/>).</summary>
public static class RunRecordData
{
    /// <summary>
    /// The number <paramref name="key"/> of the run's data configuration, e.g. <c>run.DataNumber("classes")</c> or
    /// <c>"train_images"</c>; throws <see cref="KeyNotFoundException"/> naming the run when the run did not record it.
    /// </summary>
    public static double DataNumber(this RunRecord run, string key)
    {
        using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(run.DataConfigJson) ? "{}" : run.DataConfigJson);
        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number)
            return v.GetDouble();
        throw new KeyNotFoundException($"run {run.Id} ({run.Name}) recorded no number '{key}' in its data configuration");
    }
}
