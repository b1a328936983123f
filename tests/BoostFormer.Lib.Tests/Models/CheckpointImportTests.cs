using System.Diagnostics;
using BoostFormer.Models;
using BoostFormer.Tests;
using TorchSharp;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// Writes real PyTorch checkpoints with /usr/bin/python3 (torch.save, zip format) once per test run: the segformer-b0 parity
/// fixture's weights renamed in Python to Hugging Face, NVlabs (fused kv) and mmsegmentation (fused qkv, 1x1-conv FFN,
/// c1..c4 fusion order) naming, an encoder-only NVlabs mit checkpoint, pickles with containers and strided views,
/// malicious pickles (os.system in a torch zip with pickle protocols 2 and 4, in a legacy-format file and in bare pickles of
/// protocols 2 and 0) and a legacy-format file.
/// </summary>
public sealed class TorchCheckpointFiles : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("bf-ckpt-").FullName;
    public string Fixture { get; } = TestPaths.ParityFixtures().First(d => Path.GetFileName(d).StartsWith("segformer-b0"));
    public string Marker => Path.Combine(Dir, "pwned");

    public TorchCheckpointFiles()
    {
        var script = $$$"""
import json, struct, collections, os, torch, numpy as np
out = r'{{{Dir}}}'
def load(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); sd = collections.OrderedDict()
    dt = {'F32': np.float32, 'I64': np.int64}
    for k, v in h.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']
        sd[k] = torch.from_numpy(np.frombuffer(b[8+n+s:8+n+e], dtype=dt[v['dtype']]).copy().reshape(v['shape']))
    return sd
hf = load(r'{{{Path.Combine(Fixture, "weights.safetensors")}}}')
torch.save(hf, os.path.join(out, 'pytorch_model.bin'))

# NVlabs naming (inverse of transformers' convert_segformer_original_to_pytorch.py)
nv = collections.OrderedDict()
for k, t in hf.items():
    n = k
    if k.startswith('segformer.encoder.'):
        n = 'backbone.' + k[len('segformer.encoder.'):]
        for i in range(4):
            n = n.replace(f'patch_embeddings.{i}.', f'patch_embed{i+1}.').replace(f'backbone.block.{i}.', f'backbone.block{i+1}.').replace(f'backbone.layer_norm.{i}.', f'backbone.norm{i+1}.')
        n = n.replace('.layer_norm_1.', '.norm1.').replace('.layer_norm_2.', '.norm2.').replace('attention.self.query', 'attn.q')
        n = n.replace('attention.output.dense', 'attn.proj').replace('attention.self.sr', 'attn.sr').replace('attention.self.layer_norm', 'attn.norm')
        n = n.replace('mlp.dense1', 'mlp.fc1').replace('mlp.dense2', 'mlp.fc2')
        if '.layer_norm.' in n and 'patch_embed' in n: n = n.replace('.layer_norm.', '.norm.')
        if 'attention.self.key' in n:
            nv[n.replace('attention.self.key', 'attn.kv')] = torch.cat([t, hf[k.replace('.key.', '.value.')]], 0); continue
        if 'attention.self.value' in n: continue
    else:
        for i in range(4): n = n.replace(f'decode_head.linear_c.{i}.', f'decode_head.linear_c{i+1}.')
        n = n.replace('decode_head.linear_fuse.weight', 'decode_head.linear_fuse.conv.weight').replace('decode_head.batch_norm.', 'decode_head.linear_fuse.bn.').replace('decode_head.classifier.', 'decode_head.linear_pred.')
    nv[n] = t
torch.save({'state_dict': nv, 'meta': {'epoch': 3, 'CLASSES': ('wall', 'floor'), 'lr': [0.1, 0.01], 'note': None}}, os.path.join(out, 'nvlabs.pth'))
enc = collections.OrderedDict((k[len('backbone.'):], v) for k, v in nv.items() if k.startswith('backbone.'))
enc['head.weight'] = torch.zeros(1000, 256); enc['head.bias'] = torch.zeros(1000)
torch.save(enc, os.path.join(out, 'mit_b0.pth'))

# mmsegmentation naming
mm = collections.OrderedDict()
for k, t in hf.items():
    if k.startswith('segformer.encoder.patch_embeddings.'):
        i = k.split('.')[3]; rest = '.'.join(k.split('.')[4:]).replace('proj.', 'projection.').replace('layer_norm.', 'norm.')
        mm[f'backbone.layers.{i}.0.{rest}'] = t
    elif k.startswith('segformer.encoder.layer_norm.'):
        i = k.split('.')[3]; mm[f'backbone.layers.{i}.2.{k.split(".")[-1]}'] = t
    elif k.startswith('segformer.encoder.block.'):
        p = k.split('.'); i, j, rest = p[3], p[4], '.'.join(p[5:]); pre = f'backbone.layers.{i}.1.{j}.'
        if rest.startswith('attention.self.query.'):
            kind = rest.split('.')[-1]
            mm[pre + 'attn.attn.in_proj_' + kind] = torch.cat([t, hf[k.replace('.query.', '.key.')], hf[k.replace('.query.', '.value.')]], 0); continue
        if rest.startswith('attention.self.key.') or rest.startswith('attention.self.value.'): continue
        m = {'layer_norm_1.': 'norm1.', 'layer_norm_2.': 'norm2.', 'attention.output.dense.': 'attn.attn.out_proj.', 'attention.self.sr.': 'attn.sr.',
             'attention.self.layer_norm.': 'attn.norm.', 'mlp.dense1.': 'ffn.layers.0.', 'mlp.dwconv.dwconv.': 'ffn.layers.1.', 'mlp.dense2.': 'ffn.layers.4.'}
        for a, b in m.items():
            if rest.startswith(a): rest = b + rest[len(a):]
        if rest.startswith('ffn.layers.0.weight') or rest.startswith('ffn.layers.4.weight'): t = t[:, :, None, None]
        mm[pre + rest] = t
    elif k.startswith('decode_head.linear_c.'):
        i = k.split('.')[2]; kind = k.split('.')[-1]
        mm[f'decode_head.convs.{i}.conv.{kind}'] = t[:, :, None, None] if kind == 'weight' else t
    elif k == 'decode_head.linear_fuse.weight':
        mm['decode_head.fusion_conv.conv.weight'] = torch.cat(list(reversed(t.chunk(4, 1))), 1)
    elif k.startswith('decode_head.batch_norm.'): mm['decode_head.fusion_conv.bn.' + k.split('.')[-1]] = t
    elif k.startswith('decode_head.classifier.'): mm['decode_head.conv_seg.' + k.split('.')[-1]] = t
torch.save({'meta': {'mmseg_version': '0.30.0'}, 'state_dict': mm}, os.path.join(out, 'mmseg.pth'))

# containers, strided views, shared storage, dtypes
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
torch.save({'view': base[1:, ::2], 'same': base, 'h': torch.tensor([1.5, 2.0], dtype=torch.float16), 'b': torch.tensor([True, False]),
            'i32': torch.tensor([7, -7], dtype=torch.int32), 'param': torch.nn.Parameter(torch.ones(2)),
            'plain': [1, 2.5, 'x', None, True, (1, 2), {'k': 2**70}]}, os.path.join(out, 'containers.pt'))

class Evil:
    def __reduce__(self): return (os.system, ('touch ' + os.path.join(out, 'pwned'),))
torch.save({'w': torch.ones(1), 'evil': Evil()}, os.path.join(out, 'evil.pth'))
torch.save({'state_dict': collections.OrderedDict(w=torch.ones(1)), 'meta': {'evil': Evil()}}, os.path.join(out, 'evil4.pth'), pickle_protocol=4)
torch.save({'w': torch.ones(1), 'evil': Evil()}, os.path.join(out, 'evil_legacy.pth'), _use_new_zipfile_serialization=False)
import pickle
with open(os.path.join(out, 'evil.pkl'), 'wb') as f: pickle.dump({'w': 1, 'evil': Evil()}, f, protocol=2)
with open(os.path.join(out, 'evil0.pkl'), 'wb') as f: pickle.dump({'w': 1, 'evil': Evil()}, f, protocol=0)
torch.save({'w': torch.ones(1)}, os.path.join(out, 'legacy.pth'), _use_new_zipfile_serialization=False)
json.dump({'nvlabs.pth': len(nv), 'mmseg.pth': len(mm), 'pytorch_model.bin': len(hf), 'mit_b0.pth': len(enc)}, open(os.path.join(out, 'counts.json'), 'w'))
""";
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("python checkpoint generation failed: " + err);
    }

    public string this[string name] => Path.Combine(Dir, name);

    public void Dispose() => Directory.Delete(Dir, true);
}

/// <summary>File-format tests of <see cref="TorchZipReader"/>: pickle containers and views, the allow-list, wrappers, damaged files.</summary>
public class TorchCheckpointFileFormatTests : IClassFixture<TorchCheckpointFiles>
{
    private readonly TorchCheckpointFiles _f;
    public TorchCheckpointFileFormatTests(TorchCheckpointFiles files) { _f = files; }

    [Fact]
    public void Pickle_reader_builds_containers_views_and_dtypes()
    {
        using var scope = NewDisposeScope();
        var root = (PickleDict)TorchZipReader.Load(_f["containers.pt"])!;
        root.TryGet("view", out var v).Should().BeTrue();
        var view = (Tensor)v!;
        view.shape.Should().Equal(3, 3);
        view.ToArray<float>().Should().Equal(6, 8, 10, 12, 14, 16, 18, 20, 22);
        root.TryGet("same", out var s);
        ((Tensor)s!).ToArray<float>().Should().Equal(Enumerable.Range(0, 24).Select(i => (float)i));
        root.TryGet("h", out var h);
        ((Tensor)h!).dtype.Should().Be(ScalarType.Float16);
        root.TryGet("b", out var b);
        ((Tensor)b!).ToArray<bool>().Should().Equal(true, false);
        root.TryGet("i32", out var i32);
        ((Tensor)i32!).ToArray<int>().Should().Equal(7, -7);
        root.TryGet("param", out var prm);
        ((Tensor)prm!).requires_grad.Should().BeTrue();
        root.TryGet("plain", out var plain);
        var list = (List<object?>)plain!;
        list[0].Should().Be(1L);
        list[1].Should().Be(2.5);
        list[2].Should().Be("x");
        list[3].Should().BeNull();
        list[4].Should().Be(true);
        ((object?[])list[5]!).Should().Equal(1L, 2L);
        ((PickleDict)list[6]!).TryGet("k", out var big);
        big.Should().Be(System.Numerics.BigInteger.Pow(2, 70));
    }

    [Theory]
    [InlineData("evil.pth")]        // torch zip, pickle protocol 2 (GLOBAL)
    [InlineData("evil4.pth")]       // torch zip, protocol 4 (STACK_GLOBAL), inside 'meta' next to a state_dict
    [InlineData("evil_legacy.pth")] // legacy torch.save: the object pickle after the magic/protocol/sys_info pickles
    [InlineData("evil.pkl")]        // bare pickle, protocol 2
    [InlineData("evil0.pkl")]       // bare pickle, protocol 0 (text opcodes)
    public void Pickle_with_a_callable_is_refused_without_running_it(string file)
    {
        var act = () => TorchZipReader.LoadStateDict(_f[file]);
        act.Should().Throw<InvalidDataException>().Which.Message.Should()
            .Contain(_f[file] + ": refusing to load: the pickle references posix.system, which is not a tensor, storage or OrderedDict");
        var all = () => TorchZipReader.Load(_f[file]);
        all.Should().Throw<InvalidDataException>().WithMessage("*refusing*posix.system*");
        File.Exists(_f.Marker).Should().BeFalse();
    }

    [Fact]
    public void Legacy_format_is_refused_with_a_clear_error()
    {
        var act = () => TorchZipReader.LoadStateDict(_f["legacy.pth"]);
        act.Should().Throw<InvalidDataException>().WithMessage("*legacy.pth*legacy*");
        act.Should().Throw<InvalidDataException>().Which.Message.Should().NotContain("refusing");
    }

    [Fact]
    public void Zip_state_dict_is_bit_exact_with_the_safetensors_it_was_made_from()
    {
        using var scope = NewDisposeScope();
        var st = Safetensors.Load(Path.Combine(_f.Fixture, "weights.safetensors"));
        var zip = TorchZipReader.LoadStateDict(_f["pytorch_model.bin"]);
        zip.Keys.Should().BeEquivalentTo(st.Keys);
        foreach (var (k, t) in st)
        {
            zip[k].dtype.Should().Be(t.dtype, k);
            zip[k].is_contiguous().Should().BeTrue(k);
            SafetensorsTests.BitEqual(zip[k], t).Should().BeTrue(k);
        }
    }

    [Theory]
    [InlineData("nvlabs.pth", "backbone.patch_embed1.proj.weight")]
    [InlineData("mmseg.pth", "backbone.layers.0.0.projection.weight")]
    [InlineData("mit_b0.pth", "patch_embed1.proj.weight")]
    public void Training_checkpoints_unwrap_state_dict_next_to_plain_python_meta(string file, string someKey)
    {
        using var scope = NewDisposeScope();
        var counts = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(_f["counts.json"]))!;
        var sd = TorchZipReader.LoadStateDict(_f[file]);
        sd.Should().HaveCount(counts[file]).And.ContainKey(someKey).And.NotContainKey("meta");
        var root = (PickleDict)TorchZipReader.Load(_f[file])!;
        if (root.TryGet("meta", out var meta))
            ((PickleDict)meta!).Items.Should().NotBeEmpty();
    }

    [Fact]
    public void Nvlabs_meta_keeps_its_python_values()
    {
        using var scope = NewDisposeScope();
        var root = (PickleDict)TorchZipReader.Load(_f["nvlabs.pth"])!;
        root.TryGet("meta", out var m).Should().BeTrue();
        var meta = (PickleDict)m!;
        meta.TryGet("epoch", out var epoch);
        epoch.Should().Be(3L);
        meta.TryGet("CLASSES", out var classes);
        ((object?[])classes!).Should().Equal("wall", "floor");
        meta.TryGet("lr", out var lr);
        ((List<object?>)lr!).Should().Equal(0.1, 0.01);
        meta.TryGet("note", out var note).Should().BeTrue();
        note.Should().BeNull();
    }

    [Fact]
    public void Truncated_and_corrupt_zips_give_an_error_naming_the_file()
    {
        var bytes = File.ReadAllBytes(_f["pytorch_model.bin"]);
        var cut = Path.Combine(_f.Dir, "cut.bin");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var act = () => TorchZipReader.LoadStateDict(cut);
        act.Should().Throw<InvalidDataException>().Which.Message.Should().StartWith(cut + ":");

        // A storage shorter than data.pkl says.
        var shortened = Path.Combine(_f.Dir, "short-storage.bin");
        File.Copy(_f["pytorch_model.bin"], shortened, true);
        using (var zip = System.IO.Compression.ZipFile.Open(shortened, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.First(e => e.FullName.EndsWith("/data/0", StringComparison.Ordinal));
            var name = entry.FullName;
            entry.Delete();
            using var s = zip.CreateEntry(name).Open();
            s.Write(new byte[4]);
        }
        var act2 = () => TorchZipReader.LoadStateDict(shortened);
        act2.Should().Throw<InvalidDataException>().Which.Message.Should().Contain(shortened).And.Contain("storage '0' has 4 bytes");

        var empty = Path.Combine(_f.Dir, "empty.pth");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        var act3 = () => TorchZipReader.LoadStateDict(empty);
        act3.Should().Throw<InvalidDataException>().WithMessage("*empty.pth*empty*");
        var missing = () => TorchZipReader.LoadStateDict(Path.Combine(_f.Dir, "none.pth"));
        missing.Should().Throw<FileNotFoundException>().WithMessage("*none.pth*");
    }
}


public class CheckpointImportTests : IClassFixture<TorchCheckpointFiles>
{
    private readonly TorchCheckpointFiles _f;
    public CheckpointImportTests(TorchCheckpointFiles files) { _f = files; }

    private (SegformerForSemanticSegmentation model, CheckpointLoadReport report) LoadB0(string path, bool strict = true)
    {
        manual_seed(123);
        var model = new SegformerForSemanticSegmentation(SegformerConfig.FromJson(Path.Combine(_f.Fixture, "config.json")));
        var report = CheckpointImport.LoadInto(model, path, strict);
        model.eval();
        return (model, report);
    }

    private double MaxLogitDiff(SegformerForSemanticSegmentation model)
    {
        using var scope = NewDisposeScope();
        var input = Safetensors.Load(Path.Combine(_f.Fixture, "input.safetensors"));
        var expected = Safetensors.Load(Path.Combine(_f.Fixture, "expected.safetensors"));
        using var _ = no_grad();
        return (model.call(input["pixel_values"]) - expected["logits"]).abs().max().item<float>();
    }

    [Theory]
    [InlineData("pytorch_model.bin", "huggingface")]
    [InlineData("nvlabs.pth", "nvlabs")]
    [InlineData("mmseg.pth", "mmseg")]
    public void Python_saved_checkpoints_in_every_naming_reproduce_the_reference_logits(string file, string naming)
    {
        var (model, report) = LoadB0(_f[file]);
        using (model)
        {
            report.naming.Should().Be(naming);
            report.missing.Should().BeEmpty();
            report.initialized.Should().BeEmpty();
            report.ignored.Should().BeEmpty();
            report.loaded.Should().HaveCount(model.state_dict().Count);
            MaxLogitDiff(model).Should().BeLessThan(1e-4);
        }
    }

    [Fact]
    public void Encoder_only_mit_checkpoint_loads_with_a_fresh_decoder()
    {
        var (model, report) = LoadB0(_f["mit_b0.pth"]);
        using (model)
        {
            report.naming.Should().Be("nvlabs");
            report.initialized.Should().NotBeEmpty().And.OnlyContain(k => k.StartsWith("decode_head."));
            report.initialized.Should().Contain("decode_head.classifier.weight");
            report.ignored.Should().BeEquivalentTo("head.weight", "head.bias");
            report.missing.Should().BeEmpty();
            using var scope = NewDisposeScope();
            var input = Safetensors.Load(Path.Combine(_f.Fixture, "input.safetensors"));
            var expected = Safetensors.Load(Path.Combine(_f.Fixture, "expected.safetensors"));
            using var _ = no_grad();
            using var enc = model.segformer.forward(input["pixel_values"]);
            for (int i = 0; i < 4; i++)
                (enc.hidden_states[i] - expected[$"hidden_states.{i}"]).abs().max().item<float>().Should().BeLessThan(1e-4f);
        }
    }

    [Fact]
    public void Encoder_checkpoint_loads_into_the_classification_model()
    {
        manual_seed(0);
        using var model = new SegformerForImageClassification(SegformerConfig.FromName("mit-b0", 1000));
        var report = CheckpointImport.LoadInto(model, _f["mit_b0.pth"], strict: true);
        report.initialized.Should().BeEquivalentTo("classifier.weight", "classifier.bias");
        report.ignored.Should().BeEquivalentTo("head.weight", "head.bias");
    }

    [Theory]
    [InlineData("nvlabs")]
    [InlineData("mmseg")]
    public void Synthetic_renamed_and_fused_state_dicts_round_trip_to_identical_outputs(string naming)
    {
        manual_seed(7);
        using var a = SegformerForSemanticSegmentation.FromName("segformer-b1", 13);
        using var scope = NewDisposeScope();
        // Make BatchNorm statistics non-trivial so the decoder's BN mapping matters.
        ((SegformerDecodeHeadBase)a.decode_head).batch_norm.running_mean!.copy_(randn(256));
        ((SegformerDecodeHeadBase)a.decode_head).batch_norm.running_var!.copy_(rand(256) + 0.5);
        var sd = a.state_dict();
        var renamed = naming == "nvlabs" ? SegformerKeyMapping.ToNvlabs(sd) : SegformerKeyMapping.ToMmseg(sd);
        renamed.Keys.Should().NotContain(k => k.StartsWith("segformer."));
        CheckpointImport.DetectNaming(renamed.Keys).Should().Be(naming);
        manual_seed(8);
        using var b = SegformerForSemanticSegmentation.FromName("segformer-b1", 13);
        var report = CheckpointImport.LoadStateDictInto(b, renamed, strict: true);
        report.missing.Should().BeEmpty();
        report.ignored.Should().BeEmpty();
        a.eval(); b.eval();
        var x = randn(1, 3, 64, 64);
        using var _ = no_grad();
        a.call(x).allclose(b.call(x), rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void Mmseg_head_with_per_stage_batch_norm_imports_the_encoder_only()
    {
        manual_seed(7);
        using var a = SegformerForSemanticSegmentation.FromName("segformer-b0", 13);
        using var scope = NewDisposeScope();
        var mm = SegformerKeyMapping.ToMmseg(a.state_dict());
        // mmseg's SegformerHead: ConvModule(conv without bias, bn, ReLU) per stage.
        for (int i = 0; i < 4; i++)
        {
            mm.Remove($"decode_head.convs.{i}.conv.bias");
            mm[$"decode_head.convs.{i}.bn.weight"] = ones(256);
            mm[$"decode_head.convs.{i}.bn.bias"] = zeros(256);
        }
        manual_seed(8);
        using var b = SegformerForSemanticSegmentation.FromName("segformer-b0", 13);
        var r = CheckpointImport.LoadStateDictInto(b, mm, strict: true);
        r.naming.Should().Be("mmseg");
        r.notes.Should().ContainSingle().Which.Should().Contain("BatchNorm+ReLU");
        r.initialized.Should().OnlyContain(k => k.StartsWith("decode_head.")).And.Contain("decode_head.linear_fuse.weight");
        r.ignored.Should().Contain("decode_head.convs.0.bn.weight").And.Contain("decode_head.conv_seg.weight");
        r.missing.Should().BeEmpty();
        a.eval(); b.eval();
        using var _ = no_grad();
        var x = randn(1, 3, 64, 64);
        using var ea = a.segformer.forward(x);
        using var eb = b.segformer.forward(x);
        ea.last_hidden_state.allclose(eb.last_hidden_state, rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void Shape_mismatch_names_the_key_and_both_shapes()
    {
        manual_seed(0);
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0", 19);
        var act = () => CheckpointImport.LoadInto(model, _f["pytorch_model.bin"]);
        act.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain("pytorch_model.bin").And.Contain("decode_head.classifier.weight").And.Contain("[150, 256, 1, 1]").And.Contain("[19, 256, 1, 1]");
    }

    [Fact]
    public void Strict_load_refuses_unknown_keys_and_lenient_load_reports_them()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0");
        var sd = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        sd["segformer.encoder.extra.weight"] = ones(1);
        sd.Remove("segformer.encoder.block.1.0.mlp.dense1.bias");
        var strict = () => CheckpointImport.LoadStateDictInto(model, sd, strict: true);
        strict.Should().Throw<ArgumentException>().Which.Message.Should().Contain("segformer.encoder.extra.weight").And.Contain("segformer.encoder.block.1.0.mlp.dense1.bias");
        var r = CheckpointImport.LoadStateDictInto(model, sd, strict: false);
        r.ignored.Should().Equal("segformer.encoder.extra.weight");
        r.missing.Should().Equal("segformer.encoder.block.1.0.mlp.dense1.bias");
    }

    [Fact]
    public void Legacy_format_gives_a_clear_error()
    {
        var act = () => CheckpointImport.ReadStateDict(_f["legacy.pth"]);
        act.Should().Throw<InvalidDataException>().WithMessage("*legacy.pth*legacy*");
    }

    [Fact]
    public void Hugging_face_folder_and_boostformer_reference_load()
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(_f.Dir, "hf-folder");
        Directory.CreateDirectory(folder);
        File.Copy(_f["pytorch_model.bin"], Path.Combine(folder, "pytorch_model.bin"), true);
        CheckpointImport.ReadStateDict(folder).Should().ContainKey("decode_head.linear_fuse.weight");

        var boost = TestPaths.ParityFixtures().First(d => Path.GetFileName(d).StartsWith("boostformer-"));
        manual_seed(0);
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromJson(Path.Combine(boost, "config.json")));
        var r = CheckpointImport.LoadInto(model, Path.Combine(boost, "weights.safetensors"), strict: true);
        r.ignored.Should().Equal("decode_head.linear_fuse.weight");
    }
}
