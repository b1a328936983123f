using System.Diagnostics;
using System.Text;
using BoostFormer.Torch;
using BoostFormer.Torch.IO;
using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

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
        };
        Safetensors.Save(P("a.safetensors"), src, new Dictionary<string, string> { ["format"] = "pt" });
        var back = Safetensors.Load(P("a.safetensors"));
        back.Keys.Should().BeEquivalentTo(src.Keys);
        foreach (var (k, t) in src)
        {
            back[k].dtype.Should().Be(t.dtype, k);
            back[k].shape.Should().Equal(t.shape, k);
            back[k].equal(t).Should().BeTrue(k);
        }
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
hdr, blobs, off = {{}}, [], 0
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

        var ours = P("ours.safetensors");
        Safetensors.Save(ours, new Dictionary<string, Tensor> { ["x"] = tensor(new[] { 1f, 2f, 3f, 4f }, 2, 2), ["y"] = tensor(new[] { 7L, -8L }) });
        var outp = RunPython($@"
import json, struct, numpy as np
b = open(r'{ours}', 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
x = np.frombuffer(b[8+n+h['x']['data_offsets'][0]:8+n+h['x']['data_offsets'][1]], dtype=np.float32).reshape(h['x']['shape'])
y = np.frombuffer(b[8+n+h['y']['data_offsets'][0]:8+n+h['y']['data_offsets'][1]], dtype=np.int64)
print(h['x']['dtype'], h['y']['dtype'], x.tolist(), y.tolist())
");
        outp.Trim().Should().Be("F32 I64 [[1.0, 2.0], [3.0, 4.0]] [7, -8]");
    }

    [Fact]
    public void Lazy_reader_reads_single_tensors()
    {
        using var scope = NewDisposeScope();
        Safetensors.Save(P("c.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(1000), ["b"] = full(new long[] { 2, 2 }, 4.0f) });
        using var f = SafetensorsFile.Open(P("c.safetensors"));
        f.Keys.Should().BeEquivalentTo("a", "b");
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
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, null, "invalid shape")]
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
        File.ReadAllBytes(P("keep.safetensors")).Should().Equal(before);
        Directory.GetFiles(_dir).Should().ContainSingle();
    }

    private sealed class Tiny : nn.Module<Tensor, Tensor>
    {
        public readonly Linear fc;
        public readonly BatchNorm2d bn;
        public Tiny(long n) : base(nameof(Tiny)) { fc = new Linear(n, 3); bn = new BatchNorm2d(3); RegisterComponents(); }
        public override Tensor forward(Tensor input) => fc.call(input);
    }

    [Fact]
    public void Module_save_and_load_round_trip_with_pytorch_keys()
    {
        manual_seed(1);
        using var a = new Tiny(4);
        a.save(P("m.safetensors"));
        Safetensors.ReadHeader(P("m.safetensors")).entries.Select(e => e.Name).Should()
            .BeEquivalentTo("fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked");
        manual_seed(2);
        using var b = new Tiny(4);
        var r = b.load(P("m.safetensors"));
        r.missing_keys.Should().BeEmpty();
        using var scope = NewDisposeScope();
        b.fc.weight.equal(a.fc.weight).Should().BeTrue();

        using var c = new Tiny(5);
        var act = () => c.load(P("m.safetensors"));
        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("m.safetensors").And.Contain("fc.weight").And.Contain("[3, 4]").And.Contain("[3, 5]");
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
