using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.IO;

/// <summary>
/// Reads PyTorch's <c>torch.save</c> zip container (<c>pytorch_model.bin</c>, <c>.pth</c>, <c>.pt</c>; PyTorch ≥ 1.6) without
/// executing any pickled code. <c>data.pkl</c> is walked by a minimal pickle-opcode interpreter that only builds plain values
/// (None, bool, int, float, str, bytes), containers (dict, OrderedDict, list, tuple, set) and tensor descriptions
/// (<c>torch._utils._rebuild_tensor_v2</c> / <c>_rebuild_parameter</c> over typed storages <c>data/&lt;key&gt;</c>). Any other
/// global (class or callable) is refused with an error naming it, before any tensor data is read. Tensors are then built
/// from the zip's storages (only those the caller asks for). A file that is not a zip (a legacy pre-1.6 <c>torch.save</c>
/// file or a bare pickle) is walked the same way, so a malicious pickle is reported as such, and then refused as unsupported.
/// </summary>
/// <remarks>
/// Managed rather than TorchSharp.PyBridge's <c>PyTorchUnpickler</c> (Razorvine.Pickle): PyBridge 1.4.4 has no allow-list
/// (an unknown global becomes a ClassDict), cannot load a tensor that is a view into a larger storage (a storage offset or
/// strides over a bigger storage: it throws from <c>as_strided</c>), refuses <c>nn.Parameter</c> values, drops the insertion
/// order of dicts, and keeps only the tensor values of an OrderedDict.
/// </remarks>
public static class TorchZipReader
{
    /// <summary>
    /// Loads the state dict (name → tensor) of a checkpoint. When the top level is a dict holding a nested dict of tensors
    /// under <c>state_dict</c>, <c>model</c> or <c>module</c> (mmseg/NVlabs training checkpoints, whose <c>meta</c> etc. may hold
    /// plain Python values), that dict is used. Entries that are not tensors are skipped, and tensors outside the chosen dict
    /// (e.g. optimizer state) are never read. Tensors are contiguous CPU tensors owned by the caller (current dispose scope).
    /// </summary>
    public static Dictionary<string, Tensor> LoadStateDict(string path)
    {
        using var ckpt = ZipCheckpoint.Open(path);
        var dict = ckpt.Root as PickleDict ?? throw new InvalidDataException($"{path}: the checkpoint's top level is a {Describe(ckpt.Root)}, not a dict of tensors");
        foreach (var wrapper in new[] { "state_dict", "model", "module" })
            if (dict.TryGet(wrapper, out var inner) && inner is PickleDict d && d.Items.Any(kv => kv.Value is TensorSpec)) { dict = d; break; }
        var specs = new List<(string name, TensorSpec spec)>();
        foreach (var (k, v) in dict.Items)
            if (k is string name && v is TensorSpec s) specs.Add((name, s));
        if (specs.Count == 0) throw new InvalidDataException($"{path}: the checkpoint holds no tensors");
        var built = ckpt.Build(specs.Select(s => s.spec));
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, spec) in specs) result[name] = built[spec];
        return result;
    }

    /// <summary>
    /// Unpickles the whole object: <see cref="PickleDict"/> for dicts, <c>List&lt;object?&gt;</c> for lists and sets,
    /// <c>object?[]</c> for tuples, <see cref="Tensor"/>, string, long, <see cref="BigInteger"/>, double, bool, byte[], null.
    /// Every tensor is built; they are owned by the caller (current dispose scope).
    /// </summary>
    public static object? Load(string path)
    {
        using var ckpt = ZipCheckpoint.Open(path);
        var root = ckpt.Root;
        // Collect every tensor description reachable from the root (iteratively: pickles can be deep or cyclic).
        var specs = new List<TensorSpec>();
        Walk(root, o => { if (o is TensorSpec s) specs.Add(s); });
        if (root is TensorSpec rs) return ckpt.Build(new[] { rs })[rs];
        var built = ckpt.Build(specs);
        object? Swap(object? v) => v is TensorSpec s ? built[s] : v;
        Walk(root, o =>
        {
            switch (o)
            {
                case PickleDict d:
                    for (int i = 0; i < d.Items.Count; i++) if (d.Items[i].Value is TensorSpec) d.SetValueAt(i, Swap(d.Items[i].Value));
                    break;
                case List<object?> l:
                    for (int i = 0; i < l.Count; i++) l[i] = Swap(l[i]);
                    break;
                case object?[] a:
                    for (int i = 0; i < a.Length; i++) a[i] = Swap(a[i]);
                    break;
            }
        });
        return root;
    }

    /// <summary>Visits every object reachable from <paramref name="root"/> once (containers before their contents are replaced).</summary>
    private static void Walk(object? root, Action<object> visit)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var todo = new Stack<object?>();
        todo.Push(root);
        while (todo.Count > 0)
        {
            var o = todo.Pop();
            if (o is null || !seen.Add(o)) continue;
            switch (o)
            {
                case PickleDict d: foreach (var (k, v) in d.Items) { todo.Push(k); todo.Push(v); } break;
                case List<object?> l: foreach (var v in l) todo.Push(v); break;
                case object?[] a: foreach (var v in a) todo.Push(v); break;
            }
            visit(o);
        }
    }

    internal static string Describe(object? o) => o switch
    {
        null => "None",
        PickleDict => "dict",
        List<object?> => "list",
        object?[] => "tuple",
        Tensor or TensorSpec => "tensor",
        PickleGlobal g => g.ToString(),
        _ => o.GetType().Name,
    };

    /// <summary>The first pickle of a legacy (pre-1.6) torch.save file.</summary>
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("01950a86a20f9469cfc6c", NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    private const int MaxRawPickleBytes = 256 << 20;

    /// <summary>
    /// A non-zip file: walks the pickle(s) at its start (a legacy <c>torch.save</c> file is five pickles followed by raw
    /// storages; a bare pickle is one) so a disallowed global is refused by name, then refuses the file as unsupported.
    /// </summary>
    private static Exception RefuseNonZip(string path, FileStream fs)
    {
        if (fs.Length == 0) return new InvalidDataException($"{path}: the file is empty (not a torch.save checkpoint)");
        var data = new byte[(int)Math.Min(fs.Length, MaxRawPickleBytes)];
        fs.Position = 0;
        fs.ReadExactly(data);
        string? detail = null;
        var pos = 0;
        for (int i = 0; i < 5 && pos < data.Length; i++)
        {
            object? value;
            try { (value, pos) = new Unpickler(data, pos, path, "pickle").Run(); }
            catch (InvalidDataException e) when (!e.Data.Contains(RefusedKey)) { if (i == 0) detail = e.Message; break; }
            if (i == 0 && !(value is BigInteger b && b == LegacyMagic)) break; // a bare pickle: one object
        }
        return new InvalidDataException($"{path}: not a zip-format torch.save file (legacy pre-1.6 pickle checkpoints are not supported; re-save with torch.save in PyTorch ≥ 1.6)" +
            (detail is null ? "" : $"; it does not parse as a pickle either: {detail}"));
    }

    /// <summary>An open torch.save zip with its walked data.pkl (tensors still as descriptions).</summary>
    private sealed class ZipCheckpoint : IDisposable
    {
        private readonly string _path;
        private readonly ZipArchive _zip;
        private readonly string _prefix;
        public object? Root { get; private set; }

        private ZipCheckpoint(string path, ZipArchive zip, string prefix) { _path = path; _zip = zip; _prefix = prefix; }

        public static ZipCheckpoint Open(string path)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
            var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            ZipArchive zip;
            try
            {
                Span<byte> magic = stackalloc byte[4];
                var got = fs.Read(magic);
                if (got < 4 || magic[0] != (byte)'P' || magic[1] != (byte)'K') throw RefuseNonZip(path, fs);
                fs.Position = 0;
                try { zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: false); }
                catch (InvalidDataException e) { throw new InvalidDataException($"{path}: not a readable zip archive (truncated or corrupt?): {e.Message}", e); }
            }
            catch
            {
                fs.Dispose();
                throw;
            }
            try
            {
                var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                          ?? throw new InvalidDataException($"{path}: the zip has no <name>/data.pkl entry (not a torch.save checkpoint)");
                var prefix = pkl.FullName[..(pkl.FullName.Length - "data.pkl".Length)];
                var byteorder = zip.GetEntry(prefix + "byteorder");
                if (byteorder is not null)
                {
                    using var r = new StreamReader(byteorder.Open());
                    var order = r.ReadToEnd().Trim();
                    if (order != "little") throw new InvalidDataException($"{path}: byteorder '{order}' is not supported (only little-endian checkpoints)");
                }
                if (pkl.Length > int.MaxValue / 2) throw new InvalidDataException($"{path}: data.pkl is {pkl.Length} bytes, too large for a checkpoint's pickle");
                var data = new byte[pkl.Length];
                try
                {
                    using var s = pkl.Open();
                    s.ReadExactly(data);
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
                {
                    throw new InvalidDataException($"{path}: data.pkl cannot be read from the zip (truncated or corrupt?): {e.Message}", e);
                }
                var ckpt = new ZipCheckpoint(path, zip, prefix);
                ckpt.Root = new Unpickler(data, 0, path, "data.pkl").Run().value;
                return ckpt;
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }

        /// <summary>Builds contiguous CPU tensors for <paramref name="specs"/> (each distinct description once).</summary>
        public Dictionary<TensorSpec, Tensor> Build(IEnumerable<TensorSpec> specs)
        {
            var distinct = specs.Distinct(ReferenceEqualityComparer.Instance).Cast<TensorSpec>().ToList();
            var uses = distinct.GroupBy(s => s.Storage.Key).ToDictionary(g => g.Key, g => g.Count());
            var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var built = new Dictionary<TensorSpec, Tensor>(ReferenceEqualityComparer.Instance);
            try
            {
                foreach (var s in distinct)
                {
                    Tensor t;
                    if (uses[s.Storage.Key] == 1 && s.CoversWholeStorage)
                    {
                        // The usual state-dict tensor: its own storage, read straight into the result.
                        var entry = StorageEntry(s.Storage);
                        t = torch.empty(s.Size, s.Storage.DType);
                        built[s] = t;
                        ReadStorage(s.Storage, entry, t);
                    }
                    else
                    {
                        // A view into a (shared or larger) storage: copy the view out, as PyTorch would see its values.
                        if (!storages.TryGetValue(s.Storage.Key, out var storage))
                        {
                            var entry = StorageEntry(s.Storage);
                            storage = torch.empty(new[] { s.Storage.Numel }, s.Storage.DType).DetachFromDisposeScope();
                            storages[s.Storage.Key] = storage;
                            ReadStorage(s.Storage, entry, storage);
                        }
                        t = torch.empty(s.Size, s.Storage.DType);
                        built[s] = t;
                        using var view = storage.as_strided(s.Size, s.Stride, s.Offset);
                        using (torch.no_grad()) t.copy_(view);
                    }
                    if (s.RequiresGrad) t.requires_grad = true;
                }
            }
            catch
            {
                foreach (var t in built.Values) t.Dispose();
                throw;
            }
            finally
            {
                foreach (var st in storages.Values) st.Dispose();
            }
            return built;
        }

        /// <summary>The zip entry of a storage, checked to hold exactly the bytes data.pkl says (before anything is allocated).</summary>
        private ZipArchiveEntry StorageEntry(StorageRef s)
        {
            var entry = _zip.GetEntry(_prefix + "data/" + s.Key)
                        ?? throw new InvalidDataException($"{_path}: storage '{s.Key}' referenced by data.pkl is missing from the zip");
            var bytes = s.Numel * s.ElementSize;
            if (entry.Length != bytes)
                throw new InvalidDataException($"{_path}: storage '{s.Key}' has {entry.Length} bytes, expected {bytes} ({s.Numel} × {s.DType})");
            return entry;
        }

        private void ReadStorage(StorageRef s, ZipArchiveEntry entry, Tensor into)
        {
            try
            {
                using var stream = entry.Open();
                if (!TensorBytes.ReadFrom(into, stream)) throw new InvalidDataException($"{_path}: storage '{s.Key}' is truncated");
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException && !e.Message.StartsWith(_path, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{_path}: storage '{s.Key}' cannot be read (truncated or corrupt zip?): {e.Message}", e);
            }
        }

        public void Dispose() => _zip.Dispose();
    }

    internal sealed record PickleGlobal(string Module, string Name)
    {
        public override string ToString() => Module + "." + Name;
    }

    internal sealed record StorageRef(ScalarType DType, int ElementSize, string Key, long Numel);

    /// <summary>What <c>_rebuild_tensor_v2</c> would build: a strided view of a storage, read later.</summary>
    internal sealed class TensorSpec
    {
        public required StorageRef Storage { get; init; }
        public required long Offset { get; init; }
        public required long[] Size { get; init; }
        public required long[] Stride { get; init; }
        public bool RequiresGrad { get; set; }

        /// <summary>Offset 0, row-major contiguous, and exactly as many elements as the storage.</summary>
        public bool CoversWholeStorage
        {
            get
            {
                if (Offset != 0) return false;
                long expect = 1;
                for (int i = Size.Length - 1; i >= 0; i--)
                {
                    if (Size[i] != 1 && Stride[i] != expect) return false;
                    expect *= Size[i];
                }
                return expect == Storage.Numel;
            }
        }
    }

    private sealed class Mark { public static readonly Mark Instance = new(); }

    private const string RefusedKey = "BoostFormer.IO.PickleRefused";

    /// <summary>The allow-list violation: a global that is not a tensor rebuild function, a storage type or a plain container.</summary>
    private static InvalidDataException Refused(string message)
    {
        var e = new InvalidDataException(message);
        e.Data[RefusedKey] = true;
        return e;
    }

    private static readonly Dictionary<string, (ScalarType type, int size)> StorageTypes = new()
    {
        ["FloatStorage"] = (ScalarType.Float32, 4), ["DoubleStorage"] = (ScalarType.Float64, 8), ["HalfStorage"] = (ScalarType.Float16, 2),
        ["BFloat16Storage"] = (ScalarType.BFloat16, 2), ["LongStorage"] = (ScalarType.Int64, 8), ["IntStorage"] = (ScalarType.Int32, 4),
        ["ShortStorage"] = (ScalarType.Int16, 2), ["CharStorage"] = (ScalarType.Int8, 1), ["ByteStorage"] = (ScalarType.Byte, 1),
        ["BoolStorage"] = (ScalarType.Bool, 1),
    };

    /// <summary>
    /// Pickle-opcode interpreter over one pickle starting at a byte offset. It calls nothing: globals are checked against the
    /// allow-list when they are pushed, and the few allowed ones are interpreted here (containers, tensor descriptions).
    /// </summary>
    private sealed class Unpickler
    {
        private readonly byte[] _d;
        private readonly string _path;
        private readonly string _what;
        private readonly List<object?> _stack = new();
        private readonly Dictionary<long, object?> _memo = new();
        private int _p;

        public Unpickler(byte[] d, int start, string path, string what)
        {
            _d = d; _p = start; _path = path; _what = what;
        }

        private InvalidDataException Err(string what) => new($"{_path}: {_what}: {what} (at byte {_p})");

        private byte U8() => _p < _d.Length ? _d[_p++] : throw Err("unexpected end of pickle");
        private ReadOnlySpan<byte> Bytes(long n)
        {
            if (n < 0 || n > _d.Length - _p) throw Err("unexpected end of pickle");
            var s = new ReadOnlySpan<byte>(_d, _p, (int)n);
            _p += (int)n;
            return s;
        }
        private ushort U16() => BitConverter.ToUInt16(Bytes(2));
        private int I32() => BitConverter.ToInt32(Bytes(4));
        private uint U32() => BitConverter.ToUInt32(Bytes(4));
        private long I64() => BitConverter.ToInt64(Bytes(8));
        private string Line()
        {
            var start = _p;
            while (_p < _d.Length && _d[_p] != (byte)'\n') _p++;
            if (_p >= _d.Length) throw Err("unterminated text argument");
            var s = Encoding.UTF8.GetString(_d, start, _p - start);
            _p++;
            return s;
        }
        private long LineInt(string op)
        {
            var l = Line();
            return long.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw Err($"{op} argument '{l}' is not an integer");
        }

        private object? Pop()
        {
            if (_stack.Count == 0) throw Err("stack underflow");
            var v = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            if (v is Mark) throw Err("unexpected MARK");
            return v;
        }
        private object? Top() => _stack.Count > 0 && _stack[^1] is not Mark ? _stack[^1] : throw Err("stack underflow");
        private List<object?> PopMark()
        {
            var i = _stack.FindLastIndex(x => x is Mark);
            if (i < 0) throw Err("MARK not found");
            var items = _stack.GetRange(i + 1, _stack.Count - i - 1);
            _stack.RemoveRange(i, _stack.Count - i);
            return items;
        }

        /// <summary>Runs to STOP: the unpickled value and the offset just after the pickle.</summary>
        public (object? value, int end) Run()
        {
            while (true)
            {
                var op = U8();
                switch (op)
                {
                    case 0x80: U8(); break;                                   // PROTO
                    case 0x95: I64(); break;                                  // FRAME
                    case 0x2e: return (Pop(), _p);                            // STOP
                    case 0x28: _stack.Add(Mark.Instance); break;              // MARK
                    case 0x30: Pop(); break;                                  // POP
                    case 0x31: PopMark(); break;                              // POP_MARK
                    case 0x32: _stack.Add(Top()); break;                      // DUP
                    case 0x4e: _stack.Add(null); break;                       // NONE
                    case 0x88: _stack.Add(true); break;                       // NEWTRUE
                    case 0x89: _stack.Add(false); break;                      // NEWFALSE
                    case 0x4a: _stack.Add((long)I32()); break;                // BININT
                    case 0x4b: _stack.Add((long)U8()); break;                 // BININT1
                    case 0x4d: _stack.Add((long)U16()); break;                // BININT2
                    case 0x8a: _stack.Add(Long(Bytes(U8()))); break;          // LONG1
                    case 0x8b: _stack.Add(Long(Bytes(I32()))); break;         // LONG4
                    case 0x49:                                                // INT (protocol 0; "00"/"01" are False/True)
                    {
                        var l = Line();
                        if (l == "00") _stack.Add(false);
                        else if (l == "01") _stack.Add(true);
                        else _stack.Add(long.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw Err($"INT argument '{l}' is not an integer"));
                        break;
                    }
                    case 0x4c:                                                // LONG (protocol 0)
                    {
                        var l = Line().TrimEnd('L');
                        if (!BigInteger.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) throw Err($"LONG argument '{l}' is not an integer");
                        _stack.Add(big >= long.MinValue && big <= long.MaxValue ? (long)big : big);
                        break;
                    }
                    case 0x46:                                                // FLOAT (protocol 0)
                    {
                        var l = Line();
                        _stack.Add(double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Err($"FLOAT argument '{l}' is not a number"));
                        break;
                    }
                    case 0x47:                                                // BINFLOAT (big-endian)
                    {
                        var b = Bytes(8).ToArray();
                        Array.Reverse(b);
                        _stack.Add(BitConverter.ToDouble(b));
                        break;
                    }
                    case 0x58: _stack.Add(Encoding.UTF8.GetString(Bytes(U32()))); break;   // BINUNICODE
                    case 0x8c: _stack.Add(Encoding.UTF8.GetString(Bytes(U8()))); break;    // SHORT_BINUNICODE
                    case 0x8d: _stack.Add(Encoding.UTF8.GetString(Bytes(I64()))); break;   // BINUNICODE8
                    case 0x56: _stack.Add(RawUnicodeEscape(Line())); break;                // UNICODE (protocol 0)
                    case 0x53: _stack.Add(PythonStringLiteral(Line())); break;             // STRING (protocol 0)
                    case 0x54: _stack.Add(Encoding.Latin1.GetString(Bytes(I32()))); break; // BINSTRING
                    case 0x55: _stack.Add(Encoding.Latin1.GetString(Bytes(U8()))); break;  // SHORT_BINSTRING
                    case 0x42: _stack.Add(Bytes(U32()).ToArray()); break;                  // BINBYTES
                    case 0x43: _stack.Add(Bytes(U8()).ToArray()); break;                   // SHORT_BINBYTES
                    case 0x8e: _stack.Add(Bytes(I64()).ToArray()); break;                  // BINBYTES8
                    case 0x96: _stack.Add(Bytes(I64()).ToArray()); break;                  // BYTEARRAY8
                    case 0x7d: _stack.Add(new PickleDict()); break;           // EMPTY_DICT
                    case 0x5d: _stack.Add(new List<object?>()); break;        // EMPTY_LIST
                    case 0x29: _stack.Add(Array.Empty<object?>()); break;     // EMPTY_TUPLE
                    case 0x8f: _stack.Add(new List<object?>()); break;        // EMPTY_SET (as a list)
                    case 0x74: _stack.Add(PopMark().ToArray()); break;        // TUPLE
                    case 0x85: _stack.Add(new[] { Pop() }); break;            // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); _stack.Add(new[] { a, b }); break; }           // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); _stack.Add(new[] { a, b, c }); break; } // TUPLE3
                    case 0x6c: _stack.Add(PopMark()); break;                  // LIST
                    case 0x91: _stack.Add(PopMark()); break;                  // FROZENSET (as a list)
                    case 0x64:                                                // DICT
                    {
                        var items = PopMark();
                        var d = new PickleDict();
                        for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
                        _stack.Add(d);
                        break;
                    }
                    case 0x61: { var v = Pop(); AsList(Top()).Add(v); break; }                  // APPEND
                    case 0x65: case 0x90: { var items = PopMark(); AsList(Top()).AddRange(items); break; } // APPENDS / ADDITEMS
                    case 0x73: { var v = Pop(); var k = Pop(); AsDict(Top()).Set(k, v); break; } // SETITEM
                    case 0x75:                                                // SETITEMS
                    {
                        var items = PopMark();
                        var d = AsDict(Top());
                        for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
                        break;
                    }
                    case 0x71: _memo[U8()] = Top(); break;                    // BINPUT
                    case 0x72: _memo[U32()] = Top(); break;                   // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = Top(); break;             // MEMOIZE
                    case 0x70: _memo[LineInt("PUT")] = Top(); break;          // PUT
                    case 0x68: _stack.Add(Memo(U8())); break;                 // BINGET
                    case 0x6a: _stack.Add(Memo(U32())); break;                // LONG_BINGET
                    case 0x67: _stack.Add(Memo(LineInt("GET"))); break;       // GET
                    case 0x63: { var m = Line(); var n = Line(); _stack.Add(Global(m, n)); break; } // GLOBAL
                    case 0x93:                                                // STACK_GLOBAL
                    {
                        var n = Pop(); var m = Pop();
                        if (m is not string ms || n is not string ns) throw Err($"STACK_GLOBAL on a {Describe(m)} and a {Describe(n)}, not two strings");
                        _stack.Add(Global(ms, ns));
                        break;
                    }
                    case 0x69:                                                // INST (protocol 0): module, name, then args from MARK
                    {
                        var m = Line(); var n = Line();
                        var g = Global(m, n);
                        _stack.Add(Reduce(g, PopMark().ToArray()));
                        break;
                    }
                    case 0x6f:                                                // OBJ: MARK cls args... OBJ
                    {
                        var items = PopMark();
                        if (items.Count == 0) throw Err("OBJ without a class");
                        _stack.Add(Reduce(items[0], items.Skip(1).ToArray()));
                        break;
                    }
                    case 0x82: case 0x83: case 0x84:                          // EXT1/2/4: a global by copyreg extension code
                        throw Refused($"{_path}: refusing to load: the pickle references a global through the copyreg extension registry (EXT{(op == 0x82 ? 1 : op == 0x83 ? 2 : 4)}), which is not a tensor, storage or OrderedDict");
                    case 0x51: _stack.Add(PersistentLoad(Pop())); break;      // BINPERSID
                    case 0x50: _stack.Add(PersistentLoad(Line())); break;     // PERSID
                    case 0x52: { var args = Pop(); var f = Pop(); _stack.Add(Reduce(f, args)); break; } // REDUCE
                    case 0x81: { var args = Pop(); var cls = Pop(); _stack.Add(Reduce(cls, args)); break; } // NEWOBJ
                    case 0x92:                                                // NEWOBJ_EX
                    {
                        var kwargs = Pop(); var args = Pop(); var cls = Pop();
                        if (kwargs is PickleDict { Items.Count: > 0 }) throw Err($"NEWOBJ_EX of {Describe(cls)} with keyword arguments is not supported");
                        _stack.Add(Reduce(cls, args));
                        break;
                    }
                    case 0x62: { var state = Pop(); Build(Top(), state); break; } // BUILD
                    default:
                        throw Err($"unsupported pickle opcode 0x{op:x2} ('{(char)op}'); only plain containers and tensors are accepted");
                }
            }
        }

        private object? Memo(long i) => _memo.TryGetValue(i, out var v) ? v : throw Err($"memo key {i} is undefined");

        private static object Long(ReadOnlySpan<byte> b)
        {
            if (b.Length == 0) return 0L;
            var big = new BigInteger(b, isUnsigned: false, isBigEndian: false);
            return big >= long.MinValue && big <= long.MaxValue ? (long)big : big;
        }

        /// <summary>Python's raw-unicode-escape (protocol 0 UNICODE): \uXXXX and \UXXXXXXXX escapes, other bytes Latin-1.</summary>
        private string RawUnicodeEscape(string s)
        {
            var sb = new StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] == '\\' && i + 1 < s.Length && (s[i + 1] == 'u' || s[i + 1] == 'U'))
                {
                    var len = s[i + 1] == 'u' ? 4 : 8;
                    if (i + 2 + len > s.Length || !int.TryParse(s.AsSpan(i + 2, len), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var cp))
                        throw Err("bad \\u escape in UNICODE");
                    sb.Append(char.ConvertFromUtf32(cp));
                    i += 1 + len;
                }
                else sb.Append(s[i]);
            }
            return sb.ToString();
        }

        /// <summary>A quoted Python 2 str literal (protocol 0 STRING) with the usual backslash escapes.</summary>
        private string PythonStringLiteral(string s)
        {
            if (s.Length < 2 || s[0] != s[^1] || (s[0] != '\'' && s[0] != '"')) throw Err("STRING argument is not quoted");
            s = s[1..^1];
            var sb = new StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] != '\\' || i + 1 >= s.Length) { sb.Append(s[i]); continue; }
                var c = s[++i];
                switch (c)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case '0': sb.Append('\0'); break;
                    case 'x' when i + 2 < s.Length && int.TryParse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var h):
                        sb.Append((char)h); i += 2; break;
                    default: sb.Append(c); break;
                }
            }
            return sb.ToString();
        }

        private List<object?> AsList(object? o) => o as List<object?> ?? throw Err($"APPEND on a {Describe(o)}");
        private PickleDict AsDict(object? o) => o as PickleDict ?? throw Err($"SETITEM on a {Describe(o)}");

        private object Global(string module, string name)
        {
            var g = new PickleGlobal(module, name);
            var ok = (module, name) switch
            {
                ("collections", "OrderedDict") => true,
                ("torch._utils", "_rebuild_tensor" or "_rebuild_tensor_v2" or "_rebuild_parameter" or "_rebuild_parameter_with_state") => true,
                ("torch", _) when StorageTypes.ContainsKey(name) => true,
                ("builtins" or "__builtin__", "set" or "frozenset" or "dict" or "list" or "tuple") => true,
                ("_codecs", "encode") => true,
                _ => false,
            };
            if (!ok)
                throw Refused($"{_path}: refusing to load: the pickle references {g}, which is not a tensor, storage or OrderedDict " +
                    "(nothing was executed; only torch._utils._rebuild_tensor_v2/_rebuild_parameter, torch.*Storage types, collections.OrderedDict and builtin containers are accepted)");
            return g;
        }

        private object PersistentLoad(object? pid)
        {
            // torch.save: ('storage', storage_type, key, location, numel) (legacy files add view_metadata).
            if (pid is not object?[] t || t.Length < 5 || t[0] is not "storage" || t[1] is not PickleGlobal type || t[2] is not string key)
                throw Err($"unsupported persistent id {Describe(pid)} (expected ('storage', type, key, location, numel))");
            if (type.Module != "torch" || !StorageTypes.TryGetValue(type.Name, out var dtype)) throw Err($"unsupported storage type {type}");
            var numel = t[4] is long n && n >= 0 ? n : throw Err("storage numel is not a non-negative integer");
            if (numel > long.MaxValue / 8) throw Err($"storage '{key}' numel {numel} is too large");
            if (key.Contains('/') || key.Contains('\\') || key.Contains("..")) throw Err($"storage key '{key}' is not a plain name");
            return new StorageRef(dtype.type, dtype.size, key, numel);
        }

        private long[] Longs(object? o, string what) => (o as object?[] ?? throw Err($"tensor {what} is not a tuple"))
            .Select(x => x is long v && v >= 0 ? v : throw Err($"tensor {what} entry {Describe(x)} is not a non-negative integer")).ToArray();

        private object? Reduce(object? f, object? args)
        {
            if (f is not PickleGlobal g) throw Err($"REDUCE/NEWOBJ on a {Describe(f)}, not a class or function");
            var a = args as object?[] ?? throw Err($"arguments of {g} are not a tuple");
            switch (g.Module, g.Name)
            {
                case ("collections", "OrderedDict"):
                case ("builtins" or "__builtin__", "dict"):
                    var d = new PickleDict();
                    if (a.Length > 0 && a[0] is List<object?> pairs)
                        foreach (var p in pairs) if (p is object?[] { Length: 2 } kv) d.Set(kv[0], kv[1]);
                    return d;
                case ("builtins" or "__builtin__", "set" or "frozenset" or "list"):
                    return a.Length > 0 && a[0] is List<object?> l ? new List<object?>(l) : new List<object?>();
                case ("builtins" or "__builtin__", "tuple"):
                    return a.Length > 0 && a[0] is List<object?> l2 ? l2.ToArray() : Array.Empty<object?>();
                case ("_codecs", "encode"):
                    return a.Length > 0 && a[0] is string s ? Encoding.Latin1.GetBytes(s) : throw Err("_codecs.encode without a string");
                case ("torch._utils", "_rebuild_parameter" or "_rebuild_parameter_with_state"):
                    if (a.Length == 0 || a[0] is not TensorSpec pt) throw Err($"{g.Name} without a tensor");
                    if (a.Length > 1 && a[1] is bool rg) pt.RequiresGrad = rg;
                    return pt;
                case ("torch._utils", "_rebuild_tensor" or "_rebuild_tensor_v2"):
                {
                    // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
                    if (a.Length < 4 || a[0] is not StorageRef sr || a[1] is not long offset || offset < 0)
                        throw Err($"{g.Name} with unexpected arguments");
                    var sz = Longs(a[2], "size");
                    var st = Longs(a[3], "stride");
                    if (sz.Length != st.Length) throw Err($"tensor size [{string.Join(", ", sz)}] and stride [{string.Join(", ", st)}] differ in length");
                    try
                    {
                        long numel = 1, maxIndex = offset;
                        for (int i = 0; i < sz.Length; i++)
                        {
                            numel = checked(numel * sz[i]);
                            if (sz[i] > 0) maxIndex = checked(maxIndex + (sz[i] - 1) * st[i]);
                        }
                        if (numel > 0 && maxIndex >= sr.Numel)
                            throw Err($"tensor view (offset {offset}, size [{string.Join(", ", sz)}], stride [{string.Join(", ", st)}]) exceeds storage '{sr.Key}' of {sr.Numel} elements");
                    }
                    catch (OverflowException) { throw Err($"tensor size [{string.Join(", ", sz)}] is too large"); }
                    return new TensorSpec { Storage = sr, Offset = offset, Size = sz, Stride = st, RequiresGrad = a.Length > 4 && a[4] is true };
                }
                default:
                    throw Err($"calling {g} is not allowed");
            }
        }

        private void Build(object? obj, object? state)
        {
            // OrderedDict carries its attributes (state_dict's _metadata) as BUILD state: ignore them. Anything else is refused.
            if (obj is PickleDict) return;
            if (obj is TensorSpec && state is null) return;
            throw Err($"BUILD (setstate) on a {Describe(obj)} is not supported");
        }
    }
}

/// <summary>An unpickled dict (insertion-ordered, like Python's).</summary>
public sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = new();
    private readonly Dictionary<object, int> _index = new();

    /// <summary>Entries in insertion order.</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    internal void Set(object? key, object? value)
    {
        var k = key ?? NullKey.Instance;
        if (_index.TryGetValue(k, out var i)) _items[i] = new(key, value);
        else { _index[k] = _items.Count; _items.Add(new(key, value)); }
    }

    internal void SetValueAt(int i, object? value) => _items[i] = new(_items[i].Key, value);

    /// <summary>Looks a key up.</summary>
    public bool TryGet(object key, out object? value)
    {
        if (_index.TryGetValue(key, out var i)) { value = _items[i].Value; return true; }
        value = null;
        return false;
    }

    private sealed class NullKey { public static readonly NullKey Instance = new(); }
}
