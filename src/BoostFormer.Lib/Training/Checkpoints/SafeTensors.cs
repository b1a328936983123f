using System.Text;
using System.Text.Json;
using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Training.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor name
/// to <c>{dtype, shape, data_offsets}</c> (plus an optional string map <c>__metadata__</c>), then the raw little-endian
/// data. Writes go to a temporary file in the same folder that is then renamed over the target, so a crash never leaves
/// a half-written file under the final name.
/// </summary>
public static class SafeTensors
{
    private static readonly (ScalarType type, string name)[] Types =
    {
        (ScalarType.Float32, "F32"), (ScalarType.Float64, "F64"), (ScalarType.Float16, "F16"), (ScalarType.Int64, "I64"),
        (ScalarType.Int32, "I32"), (ScalarType.Int16, "I16"), (ScalarType.Int8, "I8"), (ScalarType.Byte, "U8"), (ScalarType.Bool, "BOOL"),
    };

    private static string DtypeName(ScalarType t) => Types.FirstOrDefault(x => x.type == t).name ?? throw new NotSupportedException($"safetensors: unsupported dtype {t}");

    /// <summary>Writes <paramref name="tensors"/> (sorted by name) and <paramref name="metadata"/> atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        var contiguous = new List<Tensor>();
        try
        {
            foreach (var n in names)
            {
                var t = tensors[n].detach().contiguous().DetachFromDisposeScope();
                contiguous.Add(t);
                var bytes = t.numel() * t.element_size();
                header[n] = new Dictionary<string, object> { ["dtype"] = DtypeName(t.dtype), ["shape"] = t.shape, ["data_offsets"] = new[] { offset, offset + bytes } };
                offset += bytes;
            }
            var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
            var pad = (8 - json.Length % 8) % 8;
            var headerBytes = new byte[json.Length + pad];
            json.CopyTo(headerBytes, 0);
            for (int i = json.Length; i < headerBytes.Length; i++) headerBytes[i] = (byte)' ';
            AtomicFile.Write(path, fs =>
            {
                Span<byte> len = stackalloc byte[8];
                BitConverter.TryWriteBytes(len, (ulong)headerBytes.Length);
                fs.Write(len);
                fs.Write(headerBytes);
                foreach (var t in contiguous)
                {
                    if (t.numel() == 0) continue;
                    fs.Write(t.dtype == ScalarType.Bool ? t.data<byte>() : System.Runtime.InteropServices.MemoryMarshal.AsBytes(RawBytes(t)));
                }
            });
        }
        finally
        {
            foreach (var t in contiguous) t.Dispose();
        }
    }

    private static Span<byte> RawBytes(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<float>()),
        ScalarType.Float64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<double>()),
        ScalarType.Float16 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<Half>()),
        ScalarType.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<long>()),
        ScalarType.Int32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<int>()),
        ScalarType.Int16 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<short>()),
        ScalarType.Int8 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<sbyte>()),
        ScalarType.Byte => t.data<byte>(),
        _ => throw new NotSupportedException($"safetensors: unsupported dtype {t.dtype}"),
    };

    /// <summary>Reads every tensor (new tensors, owned by the caller) and the metadata of a safetensors file.</summary>
    public static (Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: too short to be a safetensors file ({bytes.Length} bytes)");
        var headerLen = BitConverter.ToUInt64(bytes, 0);
        if (headerLen > (ulong)bytes.Length - 8) throw new InvalidDataException($"{path}: header length {headerLen} exceeds the file size {bytes.Length} (truncated file?)");
        var dataStart = 8 + (int)headerLen;
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen));
        var tensors = new Dictionary<string, Tensor>();
        var meta = new Dictionary<string, string>();
        try
        {
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var dtypeName = prop.Value.GetProperty("dtype").GetString();
                var (type, _) = Types.FirstOrDefault(x => x.name == dtypeName);
                if (Types.All(x => x.name != dtypeName)) throw new InvalidDataException($"{path}: tensor '{prop.Name}' has unsupported dtype {dtypeName}");
                var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offs = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(type);
                if (offs.Length != 2 || offs[1] - offs[0] != expected || dataStart + offs[1] > bytes.Length)
                    throw new InvalidDataException($"{path}: tensor '{prop.Name}' has data offsets [{string.Join(", ", offs)}] inconsistent with shape [{string.Join(", ", shape)}] {dtypeName} or the file size {bytes.Length}");
                var t = empty(shape, type).DetachFromDisposeScope();
                tensors[prop.Name] = t;
                if (expected > 0)
                    bytes.AsSpan(dataStart + (int)offs[0], (int)expected).CopyTo(type == ScalarType.Bool ? t.data<byte>() : RawBytes(t));
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, meta);
    }
}

/// <summary>Atomic file replacement: write to <c>&lt;path&gt;.tmp-&lt;guid&gt;</c>, flush to disk, rename over the target.</summary>
public static class AtomicFile
{
    /// <summary>Writes through <paramref name="write"/> and renames the result to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Writes text atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, fs => { var b = Encoding.UTF8.GetBytes(text); fs.Write(b); });
}
