using System.Diagnostics;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);
    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Round_trips_every_dtype_bit_exactly()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var f = randn(3, 4);
        var baseT = arange(24, dtype: ScalarType.Float32).reshape(4, 6);
        var src = new Dictionary<string, Tensor>
        {
            ["f32"] = f,
            ["f64"] = randn(new long[] { 2, 5 }, ScalarType.Float64),
            ["f16"] = f.to(ScalarType.Float16),
            ["bf16"] = f.to(ScalarType.BFloat16),
            ["i64"] = randint(-1000, 1000, new long[] { 7 }),
            ["i32"] = randint(-1000, 1000, new long[] { 2, 2 }, ScalarType.Int32),
            ["i16"] = randint(-1000, 1000, new long[] { 3 }, ScalarType.Int16),
            ["i8"] = randint(-100, 100, new long[] { 3 }, ScalarType.Int8),
            ["u8"] = randint(0, 255, new long[] { 4, 1 }, ScalarType.Byte),
            ["bool"] = randn(6) > 0,
            ["scalar"] = tensor(3.5f),
            ["empty"] = zeros(0, 3),
            ["noncontig"] = randn(4, 3).t(),
            ["offset_view"] = baseT[1..],                    // contiguous view with a storage offset
            ["strided_view"] = baseT[1.., TensorIndex.Slice(null, null, 2)], // offset and strides
        };
        Safetensors.Save(P("a.safetensors"), src, new Dictionary<string, string> { ["format"] = "pt" });
        var back = Safetensors.Load(P("a.safetensors"));
        back.Keys.Should().BeEquivalentTo(src.Keys);
        foreach (var (k, t) in src)
        {
            back[k].dtype.Should().Be(t.dtype, k);
            back[k].shape.Should().Equal(t.shape, k);
            BitEqual(back[k], t).Should().BeTrue(k);
        }
        back["strided_view"].ToArray<float>().Should().Equal(6, 8, 10, 12, 14, 16, 18, 20, 22);
        Safetensors.ReadMetadata(P("a.safetensors"))["format"].Should().Be("pt");
        Directory.GetFiles(_dir).Should().ContainSingle("the temporary file is renamed over the target");
    }

    [Fact]
    public void Header_is_8_byte_aligned_and_offsets_tile_the_data()
    {
        using var scope = NewDisposeScope();
        Safetensors.Save(P("b.safetensors"), new Dictionary<string, Tensor> { ["z"] = ones(3), ["a"] = zeros(new long[] { 2 }, ScalarType.Float64) });
        var bytes = File.ReadAllBytes(P("b.safetensors"));
        var n = BitConverter.ToUInt64(bytes, 0);
        (n % 8).Should().Be(0);
        ((long)bytes.Length).Should().Be(8 + (long)n + 3 * 4 + 2 * 8);
        var (entries, _, dataStart) = Safetensors.ReadHeader(P("b.safetensors"));
        dataStart.Should().Be(8 + (long)n);
        entries.Select(e => e.Name).Should().Equal("a", "z"); // sorted by name
        entries[0].ScalarType.Should().Be(ScalarType.Float64);
    }

    [Fact]
    public void Reads_files_written_by_python_and_python_reads_ours()
    {
        // Python (numpy + torch 1.13) writes a safetensors file by the spec, including F16 and BF16.
        var py = P("py.safetensors");
        RunPython($@"
import json, struct, torch, numpy as np
ts = {{'w': torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7,
      'h': torch.tensor([1.5, -2.25, 65504.0], dtype=torch.float16),
      'b': torch.tensor([1.0, -3.140625, 1e30], dtype=torch.bfloat16),
      'i': torch.tensor([[1, -2], [3, 2**40]], dtype=torch.int64),
      'm': torch.tensor([True, False, True])}}
names = {{'w':'F32','h':'F16','b':'BF16','i':'I64','m':'BOOL'}}
hdr, blobs, off = {{'__metadata__': {{'format': 'pt', 'note': 'from python'}}}}, [], 0
for k, t in ts.items():
    raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
    hdr[k] = {{'dtype': names[k], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}}
    blobs.append(raw); off += len(raw)
h = json.dumps(hdr).encode()
open(r'{py}', 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
");
        using var scope = NewDisposeScope();
        var d = Safetensors.Load(py);
        d["w"].ToArray<float>()[5].Should().Be(5f / 7);
        d["h"].dtype.Should().Be(ScalarType.Float16);
        d["h"].@float().ToArray<float>().Should().Equal(1.5f, -2.25f, 65504f);
        d["b"].dtype.Should().Be(ScalarType.BFloat16);
        d["b"].@float().ToArray<float>()[1].Should().Be(-3.140625f);
        d["i"].ToArray<long>().Should().Equal(1, -2, 3, 1L << 40);
        d["m"].ToArray<bool>().Should().Equal(true, false, true);
        Safetensors.ReadMetadata(py).Should().BeEquivalentTo(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "from python" });

        var ours = P("ours.safetensors");
        Safetensors.Save(ours, new Dictionary<string, Tensor>
        {
            ["x"] = tensor(new[] { 1f, 2f, 3f, 4f }, 2, 2),
            ["y"] = tensor(new[] { 7L, -8L }),
            ["h"] = tensor(new[] { 1.5f, -2.25f }).to(ScalarType.BFloat16),
        }, new Dictionary<string, string> { ["format"] = "pt", ["config"] = "{\"a\": [1, 2]}" });
        var outp = RunPython($@"
import json, struct, numpy as np, torch
b = open(r'{ours}', 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
def get(k, dt): s, e = h[k]['data_offsets']; return np.frombuffer(b[8+n+s:8+n+e], dtype=dt).reshape(h[k]['shape'])
x = get('x', np.float32); y = get('y', np.int64)
bf = torch.from_numpy(get('h', np.int16).copy()).view(torch.bfloat16).float()
print(h['x']['dtype'], h['y']['dtype'], h['h']['dtype'], x.tolist(), y.tolist(), bf.tolist(), h['__metadata__']['format'], json.loads(h['__metadata__']['config']))
");
        outp.Trim().Should().Be("F32 I64 BF16 [[1.0, 2.0], [3.0, 4.0]] [7, -8] [1.5, -2.25] pt {'a': [1, 2]}");
    }

    [Fact]
    public void Parity_fixture_files_load_with_every_header_entry()
    {
        var fixtures = BoostFormer.Tests.TestPaths.ParityFixtures().ToList();
        fixtures.Should().NotBeEmpty();
        foreach (var dir in fixtures)
            foreach (var file in new[] { "weights.safetensors", "input.safetensors", "expected.safetensors" })
            {
                using var scope = NewDisposeScope();
                var path = Path.Combine(dir, file);
                var (entries, _, _) = Safetensors.ReadHeader(path);
                var d = Safetensors.Load(path);
                d.Keys.Should().BeEquivalentTo(entries.Select(e => e.Name), path);
                foreach (var e in entries)
                {
                    d[e.Name].shape.Should().Equal(e.Shape, e.Name);
                    d[e.Name].dtype.Should().Be(e.ScalarType, e.Name);
                }
            }
    }

    [Fact]
    public void Lazy_reader_reads_single_tensors()
    {
        using var scope = NewDisposeScope();
        Safetensors.Save(P("c.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(1000), ["b"] = full(new long[] { 2, 2 }, 4.0f) },
            new Dictionary<string, string> { ["format"] = "pt" });
        using var f = SafetensorsFile.Open(P("c.safetensors"));
        f.Keys.Should().BeEquivalentTo("a", "b");
        f.Contains("a").Should().BeTrue();
        f.Metadata["format"].Should().Be("pt");
        f.Read("b").ToArray<float>().Should().Equal(4, 4, 4, 4);
        var act = () => f.Read("nope");
        act.Should().Throw<KeyNotFoundException>().WithMessage($"*c.safetensors*nope*");
    }

    private void WriteRaw(string name, string header, int dataBytes, long? lengthOverride = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        using var fs = File.Create(P(name));
        fs.Write(BitConverter.GetBytes((ulong)(lengthOverride ?? h.Length)));
        fs.Write(h);
        fs.Write(new byte[dataBytes]);
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, null, "run past the end of the data")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, null, "needs 12 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, null, "unsupported dtype 'C64'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, null, "overlaps")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, null, "gap")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, null, "trailing bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, null, "invalid shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904, 4],\"data_offsets\":[0,4]}}", 4, null, "too large")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, null, "appears twice")]
    [InlineData("{\"__metadata__\":{\"format\":1}}", 0, null, "not a string")]
    [InlineData("{\"a\": [1, 2]}", 0, null, "not an object")]
    [InlineData("{not json", 0, null, "not valid JSON")]
    [InlineData("{}", 0, 1_000_000_000_000L, "exceeds the limit")]
    [InlineData("{}", 0, 5000L, "runs past the end of the file")]
    public void Invalid_headers_give_one_clear_error_naming_the_file(string header, int dataBytes, long? lengthOverride, string expected)
    {
        WriteRaw("bad.safetensors", header, dataBytes, lengthOverride);
        var act = () => Safetensors.Load(P("bad.safetensors"));
        act.Should().Throw<InvalidDataException>().Which.Message.Should().Contain(P("bad.safetensors")).And.Contain(expected);
    }

    [Fact]
    public void Truncated_file_is_reported_before_any_tensor_is_read()
    {
        using var scope = NewDisposeScope();
        Safetensors.Save(P("full.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(100), ["b"] = ones(100) });
        var bytes = File.ReadAllBytes(P("full.safetensors"));
        File.WriteAllBytes(P("cut.safetensors"), bytes[..(bytes.Length - 10)]);
        var act = () => Safetensors.Load(P("cut.safetensors"));
        act.Should().Throw<InvalidDataException>().Which.Message.Should().Contain(P("cut.safetensors")).And.Contain("'b'").And.Contain("truncated");
        File.WriteAllBytes(P("cut2.safetensors"), bytes[..20]);
        var act2 = () => SafetensorsFile.Open(P("cut2.safetensors"));
        act2.Should().Throw<InvalidDataException>().Which.Message.Should().Contain(P("cut2.safetensors")).And.Contain("runs past the end of the file");
    }

    [Fact]
    public void Too_short_and_missing_files_are_reported()
    {
        File.WriteAllBytes(P("short.safetensors"), new byte[] { 1, 2, 3 });
        var act = () => Safetensors.Load(P("short.safetensors"));
        act.Should().Throw<InvalidDataException>().WithMessage("*short.safetensors*shorter than*");
        var missing = () => Safetensors.Load(P("none.safetensors"));
        missing.Should().Throw<FileNotFoundException>().WithMessage("*none.safetensors*");
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_file_and_no_temporary()
    {
        using var scope = NewDisposeScope();
        Safetensors.Save(P("keep.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(2) });
        var before = File.ReadAllBytes(P("keep.safetensors"));
        var act = () => Safetensors.Save(P("keep.safetensors"), new Dictionary<string, Tensor> { ["__metadata__"] = ones(2) });
        act.Should().Throw<ArgumentException>();
        var unsupported = () => Safetensors.Save(P("keep.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(2), ["c"] = ones(2).to(ScalarType.ComplexFloat32) });
        unsupported.Should().Throw<NotSupportedException>();
        File.ReadAllBytes(P("keep.safetensors")).Should().Equal(before);
        Directory.GetFiles(_dir).Should().ContainSingle();
    }

    private sealed class Tiny : nn.Module<Tensor, Tensor>
    {
        public readonly Linear fc;
        public readonly BatchNorm2d bn;
        public Tiny(long n) : base(nameof(Tiny)) { fc = nn.Linear(n, 3); bn = nn.BatchNorm2d(3); RegisterComponents(); }
        public override Tensor forward(Tensor input) => fc.call(input);
    }

    [Fact]
    public void Module_save_and_load_round_trip_with_pytorch_keys()
    {
        manual_seed(1);
        using var a = new Tiny(4);
        a.SaveSafetensors(P("m.safetensors"), new Dictionary<string, string> { ["format"] = "pt" });
        Safetensors.ReadHeader(P("m.safetensors")).entries.Select(e => e.Name).Should()
            .BeEquivalentTo("fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked");
        Safetensors.ReadMetadata(P("m.safetensors"))["format"].Should().Be("pt");
        manual_seed(2);
        using var b = new Tiny(4);
        var r = b.LoadSafetensors(P("m.safetensors"));
        r.missing_keys.Should().BeEmpty();
        r.unexpected_keys.Should().BeEmpty();
        using var scope = NewDisposeScope();
        BitEqual(b.fc.weight!, a.fc.weight!).Should().BeTrue();
        BitEqual(b.bn.running_var!, a.bn.running_var!).Should().BeTrue();

        using var c = new Tiny(5);
        var act = () => c.LoadSafetensors(P("m.safetensors"));
        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("m.safetensors").And.Contain("fc.weight").And.Contain("[3, 4]").And.Contain("[3, 5]");

        // Missing and unexpected keys: an error naming them when strict, reported otherwise.
        var sd = a.state_dict().Where(kv => kv.Key != "bn.bias").ToDictionary(kv => kv.Key, kv => kv.Value);
        sd["extra.weight"] = ones(1);
        Safetensors.Save(P("partial.safetensors"), sd);
        using var d = new Tiny(4);
        var strict = () => d.LoadSafetensors(P("partial.safetensors"));
        strict.Should().Throw<ArgumentException>().Which.Message.Should().Contain("partial.safetensors").And.Contain("bn.bias").And.Contain("extra.weight");
        var lenient = d.LoadSafetensors(P("partial.safetensors"), strict: false);
        lenient.missing_keys.Should().Equal("bn.bias");
        lenient.unexpected_keys.Should().Equal("extra.weight");
        BitEqual(d.fc.weight!, a.fc.weight!).Should().BeTrue();
    }

    /// <summary>Same dtype, shape and bytes (TorchSharp's <c>equal</c> is element-wise).</summary>
    internal static bool BitEqual(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        if (a.numel() == 0) return true;
        using var ca = a.detach().contiguous();
        using var cb = b.detach().contiguous();
        return ca.bytes.SequenceEqual(cb.bytes);
    }

    private static string RunPython(string code)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(code);
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEnd();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.Should().Be(0, e);
        return o;
    }
}
