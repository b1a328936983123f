using System.IO.MemoryMappedFiles;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.IO;

/// <summary>Name, element type, shape and byte range (relative to the end of the header) of one tensor in a safetensors file.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>TorchSharp's element type for <see cref="DType"/>.</summary>
    public ScalarType ScalarType => Safetensors.ToScalarType(DType);
}

/// <summary>
/// Reader and writer for the safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
/// <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}</c>, then the raw little-endian data;
/// offsets count from the end of the header. No code is executed when reading, and the header is validated before any
/// data is touched. Files written here are plain safetensors that Python's <c>safetensors.torch.load_file</c> reads.
/// </summary>
/// <remarks>
/// Managed rather than TorchSharp.PyBridge's <c>Safetensors</c>: PyBridge neither validates the header (a truncated file
/// is read short without an error), nor reads or writes <c>__metadata__</c>, nor pads the header, nor writes atomically.
/// </remarks>
public static class Safetensors
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly (string name, ScalarType type, int size)[] DTypes =
    {
        ("F64", ScalarType.Float64, 8), ("F32", ScalarType.Float32, 4), ("F16", ScalarType.Float16, 2), ("BF16", ScalarType.BFloat16, 2),
        ("I64", ScalarType.Int64, 8), ("I32", ScalarType.Int32, 4), ("I16", ScalarType.Int16, 2), ("I8", ScalarType.Int8, 1),
        ("U8", ScalarType.Byte, 1), ("BOOL", ScalarType.Bool, 1),
    };

    /// <summary>TorchSharp's element type for a safetensors dtype string (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL).</summary>
    public static ScalarType ToScalarType(string dtype)
    {
        foreach (var (n, t, _) in DTypes) if (n == dtype) return t;
        throw new NotSupportedException($"safetensors dtype '{dtype}' is not supported (supported: {string.Join(", ", DTypes.Select(d => d.name))})");
    }

    /// <summary>The safetensors dtype string of a TorchSharp element type.</summary>
    public static string ToDTypeString(ScalarType type)
    {
        foreach (var (n, t, _) in DTypes) if (t == type) return n;
        throw new NotSupportedException($"tensors of dtype {type} cannot be stored in safetensors (supported: {string.Join(", ", DTypes.Select(d => d.type))})");
    }

    private static int ElementSize(string dtype)
    {
        foreach (var (n, _, s) in DTypes) if (n == dtype) return s;
        throw new NotSupportedException($"safetensors dtype '{dtype}' is not supported");
    }

    /// <summary>Reads and validates the header of <paramref name="path"/>: the tensor entries (in file order) and the metadata.</summary>
    public static (IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata, long dataStart) ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(fs, path);
    }

    private static (IReadOnlyList<SafetensorsEntry>, IReadOnlyDictionary<string, string>, long) ReadHeader(Stream fs, string path)
    {
        var fileLength = fs.Length;
        if (fileLength < 8) throw Bad(path, $"the file is {fileLength} bytes long, shorter than the 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        var n = BitConverter.ToUInt64(lenBytes);
        if (n > MaxHeaderBytes) throw Bad(path, $"header length {n} exceeds the limit of {MaxHeaderBytes} bytes (not a safetensors file?)");
        if ((long)n > fileLength - 8) throw Bad(path, $"header length {n} runs past the end of the file ({fileLength} bytes)");
        var headerBytes = new byte[n];
        fs.ReadExactly(headerBytes);
        var dataStart = 8 + (long)n;
        var dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(headerBytes); }
        catch (JsonException e) { throw Bad(path, $"the header is not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "the header is not a JSON object");
            var entries = new List<SafetensorsEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var meta = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"__metadata__ value for '{m.Name}' is not a string");
                        meta[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                if (!names.Add(prop.Name)) throw Bad(path, $"tensor '{prop.Name}' appears twice in the header");
                entries.Add(ParseEntry(prop, path));
            }
            // Validate offsets: each within the data, sized by dtype and shape, and together tiling the data without overlap.
            foreach (var e in entries)
            {
                if (e.Begin < 0 || e.End < e.Begin) throw Bad(path, $"tensor '{e.Name}' has invalid data_offsets [{e.Begin}, {e.End}]");
                if (e.End > dataLength) throw Bad(path, $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] run past the end of the data ({dataLength} bytes; truncated file?)");
                long expected;
                try
                {
                    long numel = 1;
                    foreach (var s in e.Shape) numel = checked(numel * s);
                    expected = checked(numel * ElementSize(e.DType));
                }
                catch (OverflowException) { throw Bad(path, $"tensor '{e.Name}' has a shape [{string.Join(", ", e.Shape)}] too large to address"); }
                if (e.End - e.Begin != expected)
                    throw Bad(path, $"tensor '{e.Name}' ({e.DType} [{string.Join(", ", e.Shape)}]) needs {expected} bytes but data_offsets [{e.Begin}, {e.End}] span {e.End - e.Begin}");
            }
            var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
            long cursor = 0;
            foreach (var e in sorted)
            {
                if (e.Begin < cursor) throw Bad(path, $"tensor '{e.Name}' overlaps the previous tensor's data (begins at {e.Begin}, previous ends at {cursor})");
                if (e.Begin > cursor) throw Bad(path, $"there is a gap in the data before tensor '{e.Name}' (bytes {cursor}..{e.Begin})");
                cursor = e.End;
            }
            if (cursor != dataLength)
                throw Bad(path, $"the data is {dataLength} bytes long but the tensors cover {cursor} (trailing bytes after the last tensor)");
            return (entries, meta, dataStart);
        }
    }

    private static SafetensorsEntry ParseEntry(JsonProperty prop, string path)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, $"entry '{prop.Name}' is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(path, $"tensor '{prop.Name}' has no string 'dtype'");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{prop.Name}' has no 'shape' array");
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{prop.Name}' has no 'data_offsets' [begin, end]");
        var dtype = dt.GetString()!;
        if (!DTypes.Any(d => d.name == dtype)) throw Bad(path, $"tensor '{prop.Name}' has unsupported dtype '{dtype}' (supported: {string.Join(", ", DTypes.Select(d => d.name))})");
        var shape = new List<long>();
        foreach (var s in sh.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var d) || d < 0) throw Bad(path, $"tensor '{prop.Name}' has an invalid shape entry {s}");
            shape.Add(d);
        }
        var o = off.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var l) ? l : -1).ToArray();
        return new SafetensorsEntry(prop.Name, dtype, shape.ToArray(), o[0], o[1]);
    }

    private static InvalidDataException Bad(string path, string what) => new($"{path}: invalid safetensors file: {what}");

    /// <summary>
    /// Loads every tensor of <paramref name="path"/> (memory-mapped, copied into CPU tensors the caller owns; they join the
    /// current dispose scope, if any). F16 and BF16 keep their dtype.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var f = SafetensorsFile.Open(path);
        var d = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in f.Entries) d[e.Name] = f.Read(e.Name);
        }
        catch
        {
            foreach (var t in d.Values) t.Dispose();
            throw;
        }
        return d;
    }

    /// <summary>Metadata of the file (the <c>__metadata__</c> string map).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => ReadHeader(path).metadata;

    /// <summary>
    /// Writes <paramref name="tensors"/> (any order, any device, contiguous or not; stored sorted by name) and optional string
    /// metadata to <paramref name="path"/>. Data goes to a temporary file in the same folder that is then renamed over the
    /// target, so a failed write never leaves a truncated file.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (names.Contains("__metadata__")) throw new ArgumentException("'__metadata__' is reserved and cannot be a tensor name", nameof(tensors));

        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name] ?? throw new ArgumentException($"tensor '{name}' is null", nameof(tensors));
            var dtype = ToDTypeString(t.dtype);
            var bytes = t.numel() * ElementSize(dtype);
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = dtype,
                ["shape"] = t.shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        var padded = (json.Length + 7) / 8 * 8;
        var headerBytes = new byte[padded];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < padded; i++) headerBytes[i] = (byte)' ';

        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                fs.Write(BitConverter.GetBytes((ulong)padded));
                fs.Write(headerBytes);
                foreach (var name in names) WriteTensorBytes(fs, tensors[name]);
                fs.Flush(true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    private static void WriteTensorBytes(Stream s, Tensor t)
    {
        if (t.numel() == 0) return;
        // A CPU, contiguous copy only when needed; a view with a storage offset is fine (data_ptr includes the offset).
        using var cpu = t.device_type == DeviceType.CPU ? t.alias() : t.cpu();
        using var c = cpu.is_contiguous() ? cpu.alias() : cpu.contiguous();
        TensorBytes.Write(c, s);
    }
}

/// <summary>Raw-byte access to contiguous CPU tensors in chunks below <see cref="Span{T}"/>'s 2 GiB limit.</summary>
internal static class TensorBytes
{
    /// <summary>Chunk size (1 GiB; settable so tests can exercise the chunked path on small tensors).</summary>
    internal static long ChunkBytes { get; set; } = 1L << 30;

    /// <summary>Writes the bytes of contiguous CPU tensor <paramref name="t"/> to <paramref name="s"/>.</summary>
    public static void Write(Tensor t, Stream s)
    {
        var total = t.numel() * t.element_size();
        if (total == 0) return;
        if (total <= ChunkBytes) { s.Write(t.bytes); return; }
        foreach (var chunk in Chunks(t)) s.Write(chunk.bytes);
    }

    /// <summary>Copies <paramref name="length"/> bytes (exactly the tensor's byte size) from <paramref name="src"/> into contiguous CPU tensor <paramref name="t"/>.</summary>
    public static unsafe void CopyFrom(Tensor t, byte* src, long length)
    {
        var total = t.numel() * t.element_size();
        if (total != length) throw new ArgumentException($"copying {length} bytes into a tensor of {total} bytes");
        if (total == 0) return;
        if (total <= ChunkBytes) { new ReadOnlySpan<byte>(src, (int)total).CopyTo(t.bytes); return; }
        long done = 0;
        foreach (var chunk in Chunks(t))
        {
            var dst = chunk.bytes;
            new ReadOnlySpan<byte>(src + done, dst.Length).CopyTo(dst);
            done += dst.Length;
        }
    }

    /// <summary>Fills contiguous CPU tensor <paramref name="t"/> with the next bytes of <paramref name="s"/>; false when the stream ends first.</summary>
    public static bool ReadFrom(Tensor t, Stream s)
    {
        var total = t.numel() * t.element_size();
        if (total == 0) return true;
        if (total <= ChunkBytes) return Fill(t.bytes, s);
        foreach (var chunk in Chunks(t))
            if (!Fill(chunk.bytes, s)) return false;
        return true;
    }

    private static bool Fill(Span<byte> dst, Stream s)
    {
        while (dst.Length > 0)
        {
            var n = s.Read(dst);
            if (n <= 0) return false;
            dst = dst[n..];
        }
        return true;
    }

    /// <summary>1-D views of at most ChunkBytes bytes covering the tensor in order (each disposed after its step).</summary>
    private static IEnumerable<Tensor> Chunks(Tensor t)
    {
        if (!t.is_contiguous() || t.device_type != DeviceType.CPU) throw new ArgumentException("expected a contiguous CPU tensor");
        var numel = t.numel();
        var per = Math.Max(1, ChunkBytes / t.element_size());
        using var flat = t.reshape(-1);
        for (long i = 0; i < numel; i += per)
        {
            using var chunk = flat.narrow(0, i, Math.Min(per, numel - i));
            yield return chunk;
        }
    }
}

/// <summary>
/// An open safetensors file: the validated header and a memory map of the data, so single tensors of a large checkpoint are
/// read without loading the whole file.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly Dictionary<string, SafetensorsEntry> _byName;

    /// <summary>The file's path.</summary>
    public string Path { get; }
    /// <summary>Tensor entries in file order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }
    /// <summary>The <c>__metadata__</c> map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    private readonly long _dataStart;

    private SafetensorsFile(string path)
    {
        Path = path;
        var (entries, meta, dataStart) = Safetensors.ReadHeader(path);
        Entries = entries;
        Metadata = meta;
        _dataStart = dataStart;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var length = new FileInfo(path).Length;
        if (length > dataStart)
        {
            _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        }
    }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    public static SafetensorsFile Open(string path) => new(path);

    /// <summary>The tensor names, in file order.</summary>
    public IEnumerable<string> Keys => Entries.Select(e => e.Name);

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Copies tensor <paramref name="name"/> into a new CPU tensor (owned by the caller / current dispose scope).</summary>
    public unsafe Tensor Read(string name)
    {
        if (!_byName.TryGetValue(name, out var e)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");
        var t = torch.empty(e.Shape, e.ScalarType);
        var n = e.End - e.Begin;
        if (n == 0) return t;
        byte* basePtr = null;
        _view!.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            TensorBytes.CopyFrom(t, basePtr + _view.PointerOffset + _dataStart + e.Begin, n);
        }
        catch
        {
            t.Dispose();
            throw;
        }
        finally { _view.SafeMemoryMappedViewHandle.ReleasePointer(); }
        return t;
    }

    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
    }
}

/// <summary>
/// <c>module.SaveSafetensors(path)</c> / <c>module.LoadSafetensors(path)</c>: state dicts in safetensors with PyTorch-style keys.
/// (Named so because TorchSharp's own <c>Module.save</c>/<c>Module.load</c> instance methods, which write TorchSharp's format,
/// would hide extension methods called <c>save</c>/<c>load</c>.)
/// </summary>
public static class ModuleSafetensorsExtensions
{
    /// <summary>Writes the module's parameters and persistent buffers to <paramref name="path"/> (safetensors, temp file + rename).</summary>
    public static void SaveSafetensors(this nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Safetensors.Save(path, module.state_dict(), metadata);

    /// <summary>
    /// Loads a safetensors state dict from <paramref name="path"/> into the module (PyTorch's
    /// <c>load_state_dict(load_file(path), strict)</c>). Shape mismatches always throw (<see cref="ArgumentException"/> naming the
    /// file, the key and both shapes); missing/unexpected keys throw when <paramref name="strict"/>, else are returned.
    /// </summary>
    public static (IList<string> missing_keys, IList<string> unexpected_keys) LoadSafetensors(this nn.Module module, string path, bool strict = true)
    {
        using var scope = torch.NewDisposeScope();
        var sd = Safetensors.Load(path);
        var dest = module.state_dict();
        var missing = dest.Keys.Where(k => !sd.ContainsKey(k)).ToList();
        var unexpected = sd.Keys.Where(k => !dest.ContainsKey(k)).ToList();
        var mismatched = sd.Where(kv => dest.TryGetValue(kv.Key, out var d) && !d.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: checkpoint [{string.Join(", ", kv.Value.shape)}] vs model [{string.Join(", ", dest[kv.Key].shape)}]").ToList();
        if (mismatched.Count > 0)
            throw new ArgumentException($"{path}: size mismatch for {string.Join("; ", mismatched)}");
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException($"{path}: state dict does not match the module" +
                (missing.Count > 0 ? $"; missing keys: {string.Join(", ", missing)}" : "") +
                (unexpected.Count > 0 ? $"; unexpected keys: {string.Join(", ", unexpected)}" : ""));
        // Keys and shapes are checked: TorchSharp copies each tensor in place under no_grad (converting the dtype if needed).
        module.load_state_dict(sd, strict: false);
        return (missing, unexpected);
    }
}
