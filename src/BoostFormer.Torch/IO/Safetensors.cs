using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace BoostFormer.Torch.IO;

/// <summary>Name, element type, shape and byte range (relative to the end of the header) of one tensor in a safetensors file.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>The binding's element type for <see cref="DType"/>.</summary>
    public ScalarType ScalarType => Safetensors.ToScalarType(DType);
}

/// <summary>
/// Reader and writer for the safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
/// <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}</c>, then the raw little-endian data;
/// offsets count from the end of the header. No code is executed when reading, and the header is validated before any
/// data is touched.
/// </summary>
public static class Safetensors
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly (string name, ScalarType type)[] DTypes =
    {
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16), ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64), ("I32", ScalarType.Int32), ("I16", ScalarType.Int16), ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    };

    /// <summary>The binding's element type for a safetensors dtype string (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL).</summary>
    public static ScalarType ToScalarType(string dtype)
    {
        foreach (var (n, t) in DTypes) if (n == dtype) return t;
        throw new NotSupportedException($"safetensors dtype '{dtype}' is not supported (supported: {string.Join(", ", DTypes.Select(d => d.name))})");
    }

    /// <summary>The safetensors dtype string of a binding element type.</summary>
    public static string ToDTypeString(ScalarType type)
    {
        foreach (var (n, t) in DTypes) if (t == type) return n;
        throw new NotSupportedException($"tensors of dtype {type} cannot be stored in safetensors by this binding");
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
                entries.Add(ParseEntry(prop, path));
            }
            // Validate offsets: each within the data, sized by dtype and shape, and together tiling the data without overlap.
            foreach (var e in entries)
            {
                if (e.Begin < 0 || e.End < e.Begin) throw Bad(path, $"tensor '{e.Name}' has invalid data_offsets [{e.Begin}, {e.End}]");
                if (e.End > dataLength) throw Bad(path, $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] run past the end of the data ({dataLength} bytes)");
                long numel = 1;
                foreach (var s in e.Shape) numel = checked(numel * s);
                var expected = checked(numel * torch.ElementSize(e.ScalarType));
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
    /// Loads every tensor of <paramref name="path"/> (memory-mapped, copied into tensors the caller owns; they join the
    /// current dispose scope, if any). F16 and BF16 keep their dtype.
    /// </summary>
    public static Dictionary<string, torch.Tensor> Load(string path)
    {
        using var f = SafetensorsFile.Open(path);
        var d = new Dictionary<string, torch.Tensor>();
        foreach (var e in f.Entries) d[e.Name] = f.Read(e.Name);
        return d;
    }

    /// <summary>Metadata of the file (the <c>__metadata__</c> string map).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => ReadHeader(path).metadata;

    /// <summary>
    /// Writes <paramref name="tensors"/> (any order; stored sorted by name) and optional string metadata to
    /// <paramref name="path"/>. Data goes to a temporary file in the same folder that is then renamed over the target, so a
    /// failed write never leaves a truncated file.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, torch.Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (names.Contains("__metadata__")) throw new ArgumentException("'__metadata__' is reserved and cannot be a tensor name", nameof(tensors));

        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        var sizes = new List<long>();
        foreach (var name in names)
        {
            var t = tensors[name];
            var bytes = t.numel() * t.element_size();
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = ToDTypeString(t.dtype),
                ["shape"] = t.shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            sizes.Add(bytes);
            offset += bytes;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        var padded = (json.Length + 7) / 8 * 8;
        var headerBytes = new byte[padded];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < padded; i++) headerBytes[i] = (byte)' ';

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

    private static unsafe void WriteTensorBytes(Stream s, torch.Tensor t)
    {
        using var c = t.is_contiguous() ? t.alias() : t.contiguous();
        var n = c.numel() * c.element_size();
        if (n == 0) return;
        var p = (byte*)Native.bf_tensor_data_ptr(c.Handle);
        if (p == null) throw Native.LastError();
        const long chunk = 1 << 30;
        for (long o = 0; o < n; o += chunk)
            s.Write(new ReadOnlySpan<byte>(p + o, (int)Math.Min(chunk, n - o)));
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
        _byName = entries.ToDictionary(e => e.Name);
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

    /// <summary>Copies tensor <paramref name="name"/> into a new tensor (owned by the caller / current dispose scope).</summary>
    public unsafe torch.Tensor Read(string name)
    {
        if (!_byName.TryGetValue(name, out var e)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");
        var t = torch.empty(e.Shape, e.ScalarType);
        var n = e.End - e.Begin;
        if (n == 0) return t;
        var dst = (byte*)Native.bf_tensor_data_ptr(t.Handle);
        if (dst == null) throw Native.LastError();
        byte* basePtr = null;
        _view!.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            var src = basePtr + _view.PointerOffset + _dataStart + e.Begin;
            Buffer.MemoryCopy(src, dst, n, n);
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

/// <summary><c>module.save(path)</c> / <c>module.load(path)</c>: state dicts in safetensors with PyTorch-style keys.</summary>
public static class ModuleSafetensorsExtensions
{
    /// <summary>Writes the module's parameters and persistent buffers to <paramref name="path"/> (safetensors, temp file + rename).</summary>
    public static void save(this torch.nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Safetensors.Save(path, module.state_dict(), metadata);

    /// <summary>
    /// Loads a safetensors state dict from <paramref name="path"/> into the module (PyTorch's
    /// <c>load_state_dict(load_file(path), strict)</c>). Shape mismatches always throw; missing/unexpected keys throw when strict.
    /// </summary>
    public static LoadStateDictResult load(this torch.nn.Module module, string path, bool strict = true)
    {
        using var scope = torch.NewDisposeScope();
        var sd = Safetensors.Load(path);
        try { return module.load_state_dict(sd, strict); }
        catch (ArgumentException e) { throw new ArgumentException($"{path}: {e.Message}", e); }
    }
}
