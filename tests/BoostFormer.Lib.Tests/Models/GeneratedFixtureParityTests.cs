using System.Diagnostics;
using BoostFormer.Models;
using Xunit.Abstractions;

namespace BoostFormer.Lib.Tests.Models;

/// <summary>
/// Parity beyond the shipped fixtures: an independent PyTorch implementation of the Hugging Face SegFormer layout (run by
/// /usr/bin/python3) writes a fixture with B1 sizes, a non-square input that is not a multiple of 32 (120x88), batch 2,
/// 7 classes, ignored labels and LayerNorm eps 1e-6 (the NVlabs option); the check must pass at 1e-4.
/// </summary>
public class GeneratedFixtureParityTests
{
    private readonly ITestOutputHelper _out;
    public GeneratedFixtureParityTests(ITestOutputHelper output) { _out = output; }

    [Fact]
    public void Independent_pytorch_reference_with_other_sizes_matches()
    {
        var dir = Directory.CreateTempSubdirectory("bf-genfix-").FullName;
        try
        {
            var script = Path.Combine(dir, "make_fixture.py");
            File.WriteAllText(script, Script);
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(Path.Combine(dir, "segformer-b1-generated"));
            psi.ArgumentList.Add("3");
            using (var p = Process.Start(psi)!)
            {
                var err = p.StandardError.ReadToEnd();
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                p.ExitCode.Should().Be(0, err);
            }
            var report = ParityCheck.Run(Path.Combine(dir, "segformer-b1-generated"), 1e-4);
            _out.WriteLine(report.Format());
            report.Config.layer_norm_eps.Should().Be(1e-6);
            report.Items.Should().HaveCount(12);
            report.Passed.Should().BeTrue(report.Format());
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "segformer-b1-generated", "config.json")))!;
            report.ParameterCount.Should().Be(json["parameter_count"]!.GetValue<long>());
        }
        finally { Directory.Delete(dir, true); }
    }

    private const string Script = """
# Independent PyTorch reference (Hugging Face SegFormer module layout and names) that writes a parity fixture.
import json, struct, sys, os, torch, torch.nn as nn, torch.nn.functional as F
out, seed = sys.argv[1], int(sys.argv[2])
cfg = dict(family='segformer', variant='b1', num_labels=7, seed=seed, input_hw=[120, 88], depths=[2, 2, 2, 2],
           hidden_sizes=[64, 128, 320, 512], num_attention_heads=[1, 2, 5, 8], decoder_hidden_size=256, sr_ratios=[8, 4, 2, 1],
           patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2], mlp_ratios=[4, 4, 4, 4], layer_norm_eps=1e-6, batch_norm_eps=1e-5)
eps = cfg['layer_norm_eps']
torch.manual_seed(seed)
class PatchEmb(nn.Module):
    def __init__(s, k, st, cin, c): super().__init__(); s.proj = nn.Conv2d(cin, c, k, st, k // 2); s.layer_norm = nn.LayerNorm(c, eps=eps)
    def forward(s, x):
        x = s.proj(x); _, _, h, w = x.shape; return s.layer_norm(x.flatten(2).transpose(1, 2)), h, w
class SelfAttn(nn.Module):
    def __init__(s, c, nh, r):
        super().__init__(); s.nh = nh; s.r = r
        s.query = nn.Linear(c, c); s.key = nn.Linear(c, c); s.value = nn.Linear(c, c)
        if r > 1: s.sr = nn.Conv2d(c, c, r, r); s.layer_norm = nn.LayerNorm(c, eps=eps)
    def t(s, x): b, n, c = x.shape; return x.view(b, n, s.nh, c // s.nh).permute(0, 2, 1, 3)
    def forward(s, x, h, w):
        q = s.t(s.query(x))
        if s.r > 1:
            b, n, c = x.shape; x = x.permute(0, 2, 1).reshape(b, c, h, w); x = s.sr(x).reshape(b, c, -1).permute(0, 2, 1); x = s.layer_norm(x)
        k = s.t(s.key(x)); v = s.t(s.value(x))
        a = torch.matmul(q, k.transpose(-1, -2)) / (q.shape[-1] ** 0.5)
        ctx = torch.matmul(a.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)
class SelfOut(nn.Module):
    def __init__(s, c): super().__init__(); s.dense = nn.Linear(c, c)
    def forward(s, x): return s.dense(x)
class Attn(nn.Module):
    def __init__(s, c, nh, r): super().__init__(); s.self = SelfAttn(c, nh, r); s.output = SelfOut(c)
    def forward(s, x, h, w): return s.output(s.self(x, h, w))
class DW(nn.Module):
    def __init__(s, c): super().__init__(); s.dwconv = nn.Conv2d(c, c, 3, 1, 1, bias=True, groups=c)
    def forward(s, x, h, w):
        b, n, c = x.shape; return s.dwconv(x.transpose(1, 2).view(b, c, h, w)).flatten(2).transpose(1, 2)
class FFN(nn.Module):
    def __init__(s, c, hid): super().__init__(); s.dense1 = nn.Linear(c, hid); s.dwconv = DW(hid); s.dense2 = nn.Linear(hid, c)
    def forward(s, x, h, w): return s.dense2(F.gelu(s.dwconv(s.dense1(x), h, w)))
class Layer(nn.Module):
    def __init__(s, c, nh, r, m):
        super().__init__(); s.layer_norm_1 = nn.LayerNorm(c, eps=eps); s.attention = Attn(c, nh, r); s.layer_norm_2 = nn.LayerNorm(c, eps=eps); s.mlp = FFN(c, c * m)
    def forward(s, x, h, w):
        x = s.attention(s.layer_norm_1(x), h, w) + x
        return s.mlp(s.layer_norm_2(x), h, w) + x
class Encoder(nn.Module):
    def __init__(s):
        super().__init__(); hs = cfg['hidden_sizes']
        s.patch_embeddings = nn.ModuleList([PatchEmb(cfg['patch_sizes'][i], cfg['strides'][i], 3 if i == 0 else hs[i - 1], hs[i]) for i in range(4)])
        s.block = nn.ModuleList([nn.ModuleList([Layer(hs[i], cfg['num_attention_heads'][i], cfg['sr_ratios'][i], cfg['mlp_ratios'][i]) for _ in range(cfg['depths'][i])]) for i in range(4)])
        s.layer_norm = nn.ModuleList([nn.LayerNorm(h, eps=eps) for h in hs])
    def forward(s, x):
        outs = []
        for i in range(4):
            x, h, w = s.patch_embeddings[i](x)
            for l in s.block[i]: x = l(x, h, w)
            x = s.layer_norm[i](x); x = x.reshape(x.shape[0], h, w, -1).permute(0, 3, 1, 2).contiguous(); outs.append(x)
        return outs
class SegModel(nn.Module):
    def __init__(s): super().__init__(); s.encoder = Encoder()
class MLP(nn.Module):
    def __init__(s, c, d): super().__init__(); s.proj = nn.Linear(c, d)
    def forward(s, x): return s.proj(x.flatten(2).transpose(1, 2))
class Head(nn.Module):
    def __init__(s):
        super().__init__(); d = cfg['decoder_hidden_size']
        s.linear_c = nn.ModuleList([MLP(c, d) for c in cfg['hidden_sizes']]); s.linear_fuse = nn.Conv2d(4 * d, d, 1, bias=False)
        s.batch_norm = nn.BatchNorm2d(d); s.classifier = nn.Conv2d(d, cfg['num_labels'], 1)
    def forward(s, hs):
        ups = []
        for x, m in zip(hs, s.linear_c):
            b, _, h, w = x.shape; y = m(x).permute(0, 2, 1).reshape(b, -1, h, w)
            ups.append(F.interpolate(y, size=hs[0].shape[2:], mode='bilinear', align_corners=False))
        return s.classifier(F.relu(s.batch_norm(s.linear_fuse(torch.cat(ups[::-1], 1)))))
class Top(nn.Module):
    def __init__(s): super().__init__(); s.segformer = SegModel(); s.decode_head = Head()
model = Top()
with torch.no_grad():
    for n, p in model.named_parameters(): p.normal_(0, 0.05 if p.dim() > 1 else 0.1)
    model.decode_head.batch_norm.running_mean.normal_(0, 0.1); model.decode_head.batch_norm.running_var.uniform_(0.5, 2.0)
model.eval()
x = torch.randn(2, 3, *cfg['input_hw']); labels = torch.randint(0, cfg['num_labels'], (2, *cfg['input_hw'])); labels[:, :10, :10] = 255
hs = model.segformer.encoder(x); logits = model.decode_head(hs)
loss = F.cross_entropy(F.interpolate(logits, size=labels.shape[-2:], mode='bilinear', align_corners=False), labels, ignore_index=255)
loss.backward()
cfg['parameter_count'] = sum(p.numel() for p in model.parameters())
def save(path, d):
    names = {torch.float32: 'F32', torch.int64: 'I64'}; hdr = {}; blobs = []; off = 0
    for k, t in d.items():
        raw = t.detach().contiguous().numpy().tobytes(); hdr[k] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    h = json.dumps(hdr).encode(); h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
os.makedirs(out, exist_ok=True)
save(os.path.join(out, 'weights.safetensors'), model.state_dict())
save(os.path.join(out, 'input.safetensors'), {'pixel_values': x, 'labels': labels})
exp = {'logits': logits, 'loss': loss.reshape(1)}
for i, h in enumerate(hs): exp[f'hidden_states.{i}'] = h
for n in ['segformer.encoder.patch_embeddings.0.proj.weight', 'segformer.encoder.block.1.1.attention.self.sr.weight', 'segformer.encoder.block.2.0.attention.self.key.weight',
          'segformer.encoder.layer_norm.3.weight', 'decode_head.linear_fuse.weight', 'decode_head.linear_c.0.proj.bias']:
    exp['grad.' + n] = dict(model.named_parameters())[n].grad
save(os.path.join(out, 'expected.safetensors'), exp)
json.dump(cfg, open(os.path.join(out, 'config.json'), 'w'), indent=1)
""";
}
