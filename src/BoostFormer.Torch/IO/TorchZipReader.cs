using System.IO.Compression;
using System.Numerics;
using System.Text;

namespace BoostFormer.Torch.IO;

/// <summary>
/// Reads PyTorch's <c>torch.save</c> zip container (<c>pytorch_model.bin</c>, <c>.pth</c>, <c>.pt</c>; PyTorch ≥ 1.6) without
/// executing any pickled code. <c>data.pkl</c> is run by a minimal pickle-opcode interpreter that only builds plain values
/// (None, bool, int, float, str, bytes), containers (dict, OrderedDict, list, tuple, set) and tensors
/// (<c>torch._utils._rebuild_tensor_v2</c> / <c>_rebuild_parameter</c> over typed storages from <c>data/&lt;key&gt;</c>).
/// Any other class or callable is refused with an error naming it.
/// </summary>
public static class TorchZipReader
{
    /// <summary>
    /// Loads the state dict (name → tensor) of a checkpoint. When the top level is a dict holding a nested dict under
    /// <c>state_dict</c>, <c>model</c> or <c>module</c> (mmseg/NVlabs training checkpoints), that dict is used. Entries that are
    /// not tensors are skipped. Tensors are owned by the caller (current dispose scope).
    /// </summary>
    public static Dictionary<string, torch.Tensor> LoadStateDict(string path)
    {
        var root = Load(path);
        var dict = root as PickleDict ?? throw new InvalidDataException($"{path}: the checkpoint's top level is a {Describe(root)}, not a dict of tensors");
        foreach (var wrapper in new[] { "state_dict", "model", "module" })
            if (dict.TryGet(wrapper, out var inner) && inner is PickleDict d && d.Items.Any(kv => kv.Value is torch.Tensor)) { dict = d; break; }
        var result = new Dictionary<string, torch.Tensor>();
        foreach (var (k, v) in dict.Items)
        {
            if (k is string name && v is torch.Tensor t) result[name] = t;
            else if (v is torch.Tensor t2) t2.Dispose();
        }
        if (result.Count == 0) throw new InvalidDataException($"{path}: the checkpoint holds no tensors");
        DisposeTensorsNotIn(root, result.Values);
        return result;
    }

    private static void DisposeTensorsNotIn(object? root, IEnumerable<torch.Tensor> keep)
    {
        var k = new HashSet<torch.Tensor>(keep, ReferenceEqualityComparer.Instance);
        void Walk(object? o)
        {
            switch (o)
            {
                case torch.Tensor t when !k.Contains(t): t.Dispose(); break;
                case PickleDict d: foreach (var (_, v) in d.Items) Walk(v); break;
                case List<object?> l: foreach (var v in l) Walk(v); break;
                case object?[] a: foreach (var v in a) Walk(v); break;
            }
        }
        Walk(root);
    }

    /// <summary>
    /// Unpickles the whole object: <see cref="PickleDict"/> for dicts, <c>List&lt;object?&gt;</c> for lists,
    /// <c>object?[]</c> for tuples, <see cref="torch.Tensor"/>, string, long, <see cref="BigInteger"/>, double, bool, byte[], null.
    /// </summary>
    public static object? Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        using (var fs = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[2];
            if (fs.Read(magic) < 2 || magic[0] != (byte)'P' || magic[1] != (byte)'K')
                throw new InvalidDataException($"{path}: not a zip-format torch.save file (legacy pre-1.6 pickle checkpoints are not supported; re-save with torch.save in PyTorch ≥ 1.6)");
        }
        using var zip = ZipFile.OpenRead(path);
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
        byte[] data;
        using (var s = pkl.Open())
        using (var ms = new MemoryStream())
        {
            s.CopyTo(ms);
            data = ms.ToArray();
        }
        var storages = new Dictionary<string, torch.Tensor>();
        try
        {
            var u = new Unpickler(data, path, key =>
            {
                var entry = zip.GetEntry(prefix + "data/" + key) ?? throw new InvalidDataException($"{path}: storage '{key}' referenced by data.pkl is missing from the zip");
                return entry;
            }, storages);
            return u.Run();
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        PickleDict => "dict",
        List<object?> => "list",
        object?[] => "tuple",
        torch.Tensor => "tensor",
        _ => o.GetType().Name,
    };

    internal sealed record PickleGlobal(string Module, string Name)
    {
        public override string ToString() => Module + "." + Name;
    }

    internal sealed record StorageRef(ScalarType DType, string Key, long Numel);

    private sealed class Mark { public static readonly Mark Instance = new(); }

    private sealed class Unpickler
    {
        private readonly byte[] _d;
        private readonly string _path;
        private readonly Func<string, ZipArchiveEntry> _entry;
        private readonly Dictionary<string, torch.Tensor> _storages;
        private readonly List<object?> _stack = new();
        private readonly Dictionary<long, object?> _memo = new();
        private readonly List<torch.Tensor> _created = new();
        private int _p;

        public Unpickler(byte[] d, string path, Func<string, ZipArchiveEntry> entry, Dictionary<string, torch.Tensor> storages)
        {
            _d = d; _path = path; _entry = entry; _storages = storages;
        }

        private InvalidDataException Err(string what) => new($"{_path}: data.pkl: {what} (at byte {_p})");

        private byte U8() => _p < _d.Length ? _d[_p++] : throw Err("unexpected end of pickle");
        private ReadOnlySpan<byte> Bytes(long n)
        {
            if (n < 0 || _p + n > _d.Length) throw Err("unexpected end of pickle");
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

        private object? Pop()
        {
            if (_stack.Count == 0) throw Err("stack underflow");
            var v = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            if (v is Mark) throw Err("unexpected MARK");
            return v;
        }
        private object? Top() => _stack.Count > 0 ? _stack[^1] : throw Err("stack underflow");
        private List<object?> PopMark()
        {
            var i = _stack.FindLastIndex(x => x is Mark);
            if (i < 0) throw Err("MARK not found");
            var items = _stack.GetRange(i + 1, _stack.Count - i - 1);
            _stack.RemoveRange(i, _stack.Count - i);
            return items;
        }

        public object? Run()
        {
            try
            {
                while (true)
                {
                    var op = U8();
                    switch (op)
                    {
                        case 0x80: U8(); break;                                   // PROTO
                        case 0x95: I64(); break;                                  // FRAME
                        case 0x2e: return Pop();                                  // STOP
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
                        case 0x54: _stack.Add(Encoding.Latin1.GetString(Bytes(I32()))); break; // BINSTRING
                        case 0x55: _stack.Add(Encoding.Latin1.GetString(Bytes(U8()))); break;  // SHORT_BINSTRING
                        case 0x42: _stack.Add(Bytes(U32()).ToArray()); break;                  // BINBYTES
                        case 0x43: _stack.Add(Bytes(U8()).ToArray()); break;                   // SHORT_BINBYTES
                        case 0x8e: _stack.Add(Bytes(I64()).ToArray()); break;                  // BINBYTES8
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
                        case 0x70: _memo[long.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture)] = Top(); break; // PUT
                        case 0x68: _stack.Add(Memo(U8())); break;                 // BINGET
                        case 0x6a: _stack.Add(Memo(U32())); break;                // LONG_BINGET
                        case 0x67: _stack.Add(Memo(long.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture))); break; // GET
                        case 0x63: { var m = Line(); var n = Line(); _stack.Add(Global(m, n)); break; } // GLOBAL
                        case 0x93: { var n = Pop() as string; var m = Pop() as string; _stack.Add(Global(m ?? "?", n ?? "?")); break; } // STACK_GLOBAL
                        case 0x51: _stack.Add(PersistentLoad(Pop())); break;      // BINPERSID
                        case 0x52: { var args = Pop(); var f = Pop(); _stack.Add(Reduce(f, args)); break; } // REDUCE
                        case 0x81: { var args = Pop(); var cls = Pop(); _stack.Add(Reduce(cls, args)); break; } // NEWOBJ
                        case 0x62: { var state = Pop(); Build(Top(), state); break; } // BUILD
                        default:
                            throw Err($"unsupported pickle opcode 0x{op:x2} ('{(char)op}'); only plain containers and tensors are accepted");
                    }
                }
            }
            catch
            {
                foreach (var t in _created) t.Dispose();
                throw;
            }
        }

        private object? Memo(long i) => _memo.TryGetValue(i, out var v) ? v : throw Err($"memo key {i} is undefined");

        private static object Long(ReadOnlySpan<byte> b)
        {
            if (b.Length == 0) return 0L;
            var big = new BigInteger(b, isUnsigned: false, isBigEndian: false);
            return big >= long.MinValue && big <= long.MaxValue ? (long)big : big;
        }

        private List<object?> AsList(object? o) => o as List<object?> ?? throw Err($"APPEND on a {Describe(o)}");
        private PickleDict AsDict(object? o) => o as PickleDict ?? throw Err($"SETITEM on a {Describe(o)}");

        private static readonly Dictionary<string, ScalarType> StorageTypes = new()
        {
            ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
            ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
            ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
            ["BoolStorage"] = ScalarType.Bool,
        };

        private object Global(string module, string name)
        {
            var g = new PickleGlobal(module, name);
            var ok = (module, name) switch
            {
                ("collections", "OrderedDict") => true,
                ("torch._utils", "_rebuild_tensor_v2") => true,
                ("torch._utils", "_rebuild_parameter") => true,
                ("torch", _) when StorageTypes.ContainsKey(name) => true,
                ("builtins" or "__builtin__", "set" or "frozenset" or "dict" or "list" or "tuple") => true,
                ("_codecs", "encode") => true,
                _ => false,
            };
            if (!ok)
                throw new InvalidDataException($"{_path}: the checkpoint references '{g}', which is not a tensor or a plain container; refusing to load it " +
                    "(only torch._utils._rebuild_tensor_v2/_rebuild_parameter, typed storages, collections.OrderedDict and builtin values are accepted)");
            return g;
        }

        private object PersistentLoad(object? pid)
        {
            if (pid is not object?[] t || t.Length < 5 || t[0] is not "storage" || t[1] is not PickleGlobal type || t[2] is not string key)
                throw Err($"unsupported persistent id {Describe(pid)} (expected ('storage', type, key, location, numel))");
            if (type.Module != "torch" || !StorageTypes.TryGetValue(type.Name, out var dtype)) throw Err($"unsupported storage type {type}");
            var numel = t[4] is long n ? n : throw Err("storage numel is not an integer");
            return new StorageRef(dtype, key, numel);
        }

        private unsafe torch.Tensor StorageTensor(StorageRef s)
        {
            if (_storages.TryGetValue(s.Key, out var cached)) return cached;
            var entry = _entry(s.Key);
            var bytes = s.Numel * torch.ElementSize(s.DType);
            if (entry.Length != bytes)
                throw new InvalidDataException($"{_path}: storage '{s.Key}' has {entry.Length} bytes, expected {bytes} ({s.Numel} × {s.DType})");
            var t = torch.empty(new[] { s.Numel }, s.DType).DetachFromDisposeScope();
            _storages[s.Key] = t;
            if (bytes > 0)
            {
                var dst = (byte*)Native.bf_tensor_data_ptr(t.Handle);
                using var stream = entry.Open();
                long done = 0;
                while (done < bytes)
                {
                    var n = stream.Read(new Span<byte>(dst + done, (int)Math.Min(1 << 30, bytes - done)));
                    if (n <= 0) throw new InvalidDataException($"{_path}: storage '{s.Key}' is truncated");
                    done += n;
                }
            }
            return t;
        }

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
                case ("torch._utils", "_rebuild_parameter"):
                    if (a.Length == 0 || a[0] is not torch.Tensor pt) throw Err("_rebuild_parameter without a tensor");
                    if (a.Length > 1 && a[1] is bool rg) pt.requires_grad = rg;
                    return pt;
                case ("torch._utils", "_rebuild_tensor_v2"):
                {
                    if (a.Length < 4 || a[0] is not StorageRef sr || a[1] is not long offset || a[2] is not object?[] size || a[3] is not object?[] stride)
                        throw Err("_rebuild_tensor_v2 with unexpected arguments");
                    var sz = size.Select(x => x is long v ? v : throw Err("tensor size is not an integer")).ToArray();
                    var st = stride.Select(x => x is long v ? v : throw Err("tensor stride is not an integer")).ToArray();
                    long maxIndex = offset;
                    for (int i = 0; i < sz.Length; i++) if (sz[i] > 0) maxIndex += (sz[i] - 1) * st[i];
                    if (sz.Any(x => x == 0)) maxIndex = -1;
                    if (maxIndex >= sr.Numel) throw Err($"tensor view (offset {offset}, size [{string.Join(", ", sz)}], stride [{string.Join(", ", st)}]) exceeds storage '{sr.Key}' of {sr.Numel} elements");
                    var storage = StorageTensor(sr);
                    using var view = Op.Get("aten::as_strided").Call().T(storage).L(sz).L(st).I(offset).Tensor();
                    var t = Op.Get("aten::clone").Call().T(view).I(0).Tensor(); // MemoryFormat.Contiguous
                    if (a.Length > 4 && a[4] is true) t.requires_grad = true;
                    _created.Add(t);
                    return t;
                }
                default:
                    throw Err($"calling {g} is not allowed");
            }
        }

        private void Build(object? obj, object? state)
        {
            // OrderedDict carries its attributes (state_dict's _metadata) as BUILD state: ignore them. Anything else is refused.
            if (obj is PickleDict) return;
            if (obj is torch.Tensor && state is null) return;
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

    /// <summary>Looks a key up.</summary>
    public bool TryGet(object key, out object? value)
    {
        if (_index.TryGetValue(key, out var i)) { value = _items[i].Value; return true; }
        value = null;
        return false;
    }

    private sealed class NullKey { public static readonly NullKey Instance = new(); }
}
