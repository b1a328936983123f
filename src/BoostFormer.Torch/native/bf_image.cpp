// Image codecs and resizing for the data layer.
//
// Decoding and encoding go through Debian's libpng (1.6) and libjpeg-turbo; no codec logic is written here. Both
// libraries report fatal errors by calling an error callback that must not return: we longjmp back to a setjmp made
// in the decoding function. To keep that well-defined, the functions that call setjmp (png_decode_core,
// jpeg_decode_core, png_encode_core) are written in the C subset: only trivially destructible locals, all buffers
// malloc'ed, locals changed after setjmp are volatile. No C++ object lives in a frame that a longjmp crosses. The C++
// entry points (bf_image_*) call those cores and turn their error text into bf_last_error.
//
// Decoded pixels are returned as HWC tensors: uint8, or int32 for 16-bit PNG samples (libtorch 1.13 has no uint16).
// Resizing goes through ATen's upsample kernels (bilinear with align_corners=false, nearest), see bf_image_resize.
#include "bf_common.h"
#include <ATen/Parallel.h>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

namespace {

// Decoding modes (ImageReadMode on the managed side).
enum { MODE_UNCHANGED = 0, MODE_RGB = 1, MODE_LABEL = 2, MODE_GRAY = 3 };

struct Decoded {
  unsigned char* pixels;  // malloc'ed, HWC, bytes_per_sample 1 or 2 (host-endian uint16)
  int height, width, channels, bytes_per_sample;
  int src_channels, src_bit_depth, src_is_palette;
  unsigned char palette[256 * 3];
  int palette_size;
};

// ------------------------------------------------------------------------------------------------ PNG decode
struct PngReadState {
  const unsigned char* data;
  size_t len, pos;
  char* err;  // 256 bytes
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  PngReadState* s = (PngReadState*)png_get_io_ptr(png);
  if (s->pos + n > s->len) png_error(png, "unexpected end of data (truncated file)");
  memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

void png_error_fn(png_structp png, png_const_charp msg) {
  PngReadState* s = (PngReadState*)png_get_error_ptr(png);
  if (s && s->err) snprintf(s->err, 256, "%s", msg);
  png_longjmp(png, 1);
}

void png_warning_fn(png_structp, png_const_charp) {}

// C-subset function: see the file comment.
int png_decode_core(const unsigned char* data, size_t len, int mode, Decoded* out, char* err) {
  PngReadState st;
  st.data = data; st.len = len; st.pos = 0; st.err = err;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_error_fn, png_warning_fn);
  if (!png) { snprintf(err, 256, "png_create_read_struct failed"); return -1; }
  png_infop info = png_create_info_struct(png);
  if (!info) { png_destroy_read_struct(&png, NULL, NULL); snprintf(err, 256, "png_create_info_struct failed"); return -1; }
  unsigned char* volatile pixels = NULL;
  png_bytep* volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(pixels); free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return -1;
  }
  png_set_read_fn(png, &st, png_read_mem);
  // Limits against decompression bombs; generous for segmentation data.
  png_set_user_limits(png, 1u << 15, 1u << 15);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int bit_depth = png_get_bit_depth(png, info);
  int color = png_get_color_type(png, info);
  out->src_bit_depth = bit_depth;
  out->src_is_palette = color == PNG_COLOR_TYPE_PALETTE;
  out->src_channels = png_get_channels(png, info);
  out->palette_size = 0;
  if (color == PNG_COLOR_TYPE_PALETTE) {
    png_colorp pal; int n = 0;
    if (png_get_PLTE(png, info, &pal, &n) && n > 0) {
      if (n > 256) n = 256;
      for (int i = 0; i < n; ++i) { out->palette[3 * i] = pal[i].red; out->palette[3 * i + 1] = pal[i].green; out->palette[3 * i + 2] = pal[i].blue; }
      out->palette_size = n;
    }
  }

  if (mode == MODE_UNCHANGED || mode == MODE_LABEL) {
    // Keep stored values: palette indices stay indices, low bit depths are unpacked without scaling for palettes
    // and label maps (a 4-bit label map keeps 0..15), scaled to 0..255 for gray images in unchanged mode.
    if (bit_depth < 8) {
      if (color == PNG_COLOR_TYPE_GRAY && mode == MODE_UNCHANGED) png_set_expand_gray_1_2_4_to_8(png);
      else png_set_packing(png);
    }
    if (mode == MODE_LABEL) {
      if (color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_strip_alpha(png);
      else if (color == PNG_COLOR_TYPE_RGB || color == PNG_COLOR_TYPE_RGB_ALPHA) {
        snprintf(err, 256, "a label map must be single-channel (grayscale or palette PNG), this PNG is %s",
                 color == PNG_COLOR_TYPE_RGB ? "RGB" : "RGBA");
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
      }
    }
  } else {
    // RGB or gray image: 8 bits per sample, palette expanded, alpha dropped.
    if (bit_depth == 16) png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_alpha(png);
    if (mode == MODE_RGB && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)) png_set_gray_to_rgb(png);
    if (mode == MODE_GRAY && (color & PNG_COLOR_MASK_COLOR)) png_set_rgb_to_gray_fixed(png, 1, -1, -1);
  }
  if (bit_depth == 16) {
    // 16-bit samples are big-endian in the file; swap to the host's order (x86: little-endian).
    unsigned short probe = 1;
    if (*(unsigned char*)&probe == 1) png_set_swap(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int channels = png_get_channels(png, info);
  int bps = png_get_bit_depth(png, info) == 16 ? 2 : 1;
  size_t rowbytes = png_get_rowbytes(png, info);
  if (rowbytes != (size_t)w * channels * bps) png_error(png, "unexpected row layout after transforms");
  pixels = (unsigned char*)malloc(rowbytes * h);
  rows = (png_bytep*)malloc(sizeof(png_bytep) * h);
  if (!pixels || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = pixels + y * rowbytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  out->pixels = pixels;
  out->height = (int)h; out->width = (int)w; out->channels = channels; out->bytes_per_sample = bps;
  return 0;
}

// ------------------------------------------------------------------------------------------------ JPEG decode
struct JpegErr {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char* err;
};

void jpeg_error_exit_fn(j_common_ptr cinfo) {
  JpegErr* e = (JpegErr*)cinfo->err;
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  // jpeg_mem_src inserts a fake EOI when the data runs out, which then shows up as some other error: say so.
  const bool exhausted = cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->src &&
                         ((j_decompress_ptr)cinfo)->src->bytes_in_buffer == 0;
  snprintf(e->err, 256, "%s%s", exhausted ? "truncated file (data ends early): " : "", buf);
  longjmp(e->jump, 1);
}

void jpeg_emit_message_fn(j_common_ptr cinfo, int level) {
  // Corrupt-data warnings (level -1) are counted by libjpeg; we treat a premature end as an error after decoding.
  if (level < 0) cinfo->err->num_warnings++;
}

// C-subset function: see the file comment.
int jpeg_decode_core(const unsigned char* data, size_t len, int mode, Decoded* out, char* err) {
  struct jpeg_decompress_struct cinfo;
  JpegErr jerr;
  unsigned char* volatile pixels = NULL;
  unsigned char* volatile cmyk = NULL;
  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = jpeg_error_exit_fn;
  jerr.mgr.emit_message = jpeg_emit_message_fn;
  jerr.err = err;
  if (setjmp(jerr.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(pixels); free(cmyk);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  out->src_channels = cinfo.num_components;
  out->src_bit_depth = 8;
  out->src_is_palette = 0;
  out->palette_size = 0;
  int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  if (mode == MODE_LABEL) {
    snprintf(err, 256, "JPEG is lossy and cannot hold a label map");
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  if (is_cmyk) cinfo.out_color_space = JCS_CMYK;
  else if (mode == MODE_RGB) cinfo.out_color_space = JCS_RGB;
  else if (mode == MODE_GRAY) cinfo.out_color_space = JCS_GRAYSCALE;
  // Defaults (JDCT_ISLOW, fancy upsampling) are what PIL and OpenCV use, so pixels match theirs exactly.
  jpeg_start_decompress(&cinfo);
  int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
  size_t stride = (size_t)w * c;
  unsigned char* buf = (unsigned char*)malloc(stride * h);
  if (!buf) { snprintf(err, 256, "out of memory"); jpeg_destroy_decompress(&cinfo); return -1; }
  if (is_cmyk) cmyk = buf; else pixels = buf;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buf + (size_t)cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  int warnings = (int)jerr.mgr.num_warnings;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (warnings > 0 && (size_t)len > 2 && !(data[len - 2] == 0xFF && data[len - 1] == 0xD9)) {
    snprintf(err, 256, "truncated JPEG data (no end-of-image marker, %d decoder warnings)", warnings);
    free(buf);
    return -1;
  }
  if (is_cmyk) {
    // Adobe-style inverted CMYK (as written by Photoshop, the common case): R = C*K/255, etc.
    int oc = mode == MODE_GRAY ? 1 : 3;
    pixels = (unsigned char*)malloc((size_t)w * h * oc);
    if (!pixels) { free(cmyk); snprintf(err, 256, "out of memory"); return -1; }
    for (size_t i = 0; i < (size_t)w * h; ++i) {
      unsigned int k = cmyk[4 * i + 3];
      unsigned int r = (cmyk[4 * i] * k + 127) / 255, g = (cmyk[4 * i + 1] * k + 127) / 255, b = (cmyk[4 * i + 2] * k + 127) / 255;
      if (oc == 3) { pixels[3 * i] = (unsigned char)r; pixels[3 * i + 1] = (unsigned char)g; pixels[3 * i + 2] = (unsigned char)b; }
      else pixels[i] = (unsigned char)((299 * r + 587 * g + 114 * b + 500) / 1000);
    }
    free(cmyk);
    c = oc;
  }
  out->pixels = pixels;
  out->height = h; out->width = w; out->channels = c; out->bytes_per_sample = 1;
  return 0;
}

// ------------------------------------------------------------------------------------------------ PNG encode
struct PngWriteState {
  unsigned char* buf;
  size_t len, cap;
  char* err;
};

void png_write_mem(png_structp png, png_bytep data, png_size_t n) {
  PngWriteState* s = (PngWriteState*)png_get_io_ptr(png);
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 65536;
    while (cap < s->len + n) cap *= 2;
    unsigned char* nb = (unsigned char*)realloc(s->buf, cap);
    if (!nb) png_error(png, "out of memory");
    s->buf = nb; s->cap = cap;
  }
  memcpy(s->buf + s->len, data, n);
  s->len += n;
}

void png_flush_mem(png_structp) {}

void png_write_error_fn(png_structp png, png_const_charp msg) {
  PngWriteState* s = (PngWriteState*)png_get_error_ptr(png);
  if (s && s->err) snprintf(s->err, 256, "%s", msg);
  png_longjmp(png, 1);
}

// C-subset function: see the file comment. pixels: HWC, 8-bit (bps 1) or host-endian 16-bit (bps 2).
int png_encode_core(const unsigned char* pixels, int h, int w, int c, int bps, const unsigned char* palette, int palette_size,
                    int compression, unsigned char** out, size_t* out_len, char* err) {
  PngWriteState st;
  st.buf = NULL; st.len = 0; st.cap = 0; st.err = err;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, png_write_error_fn, png_warning_fn);
  if (!png) { snprintf(err, 256, "png_create_write_struct failed"); return -1; }
  png_infop info = png_create_info_struct(png);
  if (!info) { png_destroy_write_struct(&png, NULL); snprintf(err, 256, "png_create_info_struct failed"); return -1; }
  png_bytep* volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(rows); free(st.buf);
    png_destroy_write_struct(&png, &info);
    return -1;
  }
  png_set_write_fn(png, &st, png_write_mem, png_flush_mem);
  int color = c == 1 ? (palette ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_GRAY)
            : c == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bps * 8, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette) {
    png_color pal[256];
    for (int i = 0; i < palette_size; ++i) { pal[i].red = palette[3 * i]; pal[i].green = palette[3 * i + 1]; pal[i].blue = palette[3 * i + 2]; }
    png_set_PLTE(png, info, pal, palette_size);
  }
  png_set_compression_level(png, compression);
  png_write_info(png, info);
  if (bps == 2) {
    unsigned short probe = 1;
    if (*(unsigned char*)&probe == 1) png_set_swap(png);
  }
  rows = (png_bytep*)malloc(sizeof(png_bytep) * h);
  if (!rows) png_error(png, "out of memory");
  for (int y = 0; y < h; ++y) rows[y] = (png_bytep)(pixels + (size_t)y * w * c * bps);
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  *out = st.buf;
  *out_len = st.len;
  return 0;
}

int sniff(const unsigned char* data, size_t len) {
  if (len >= 8 && png_sig_cmp((png_const_bytep)data, 0, 8) == 0) return 1;
  if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return 2;
  return 0;
}

}  // namespace

extern "C" {

// Decodes a PNG or JPEG held in memory. mode: 0 unchanged, 1 RGB, 2 label (single channel, palette indices kept),
// 3 gray. Returns an HWC tensor (uint8, or int32 for 16-bit PNG samples); info (7 ints, may be null) receives
// {format 1=PNG 2=JPEG, src_channels, src_bit_depth, src_is_palette, palette_size, height, width}; palette (768 bytes,
// may be null) receives the PNG palette. On failure returns null with the decoder's message in bf_last_error.
BF_API at::Tensor* bf_image_decode(const unsigned char* data, int64_t len, int mode, int* info, unsigned char* palette) {
  BF_TRY {
    if (!data || len <= 0) throw std::runtime_error("empty file");
    int fmt = sniff(data, (size_t)len);
    if (fmt == 0) throw std::runtime_error("not a PNG or JPEG file (unrecognised signature)");
    Decoded d;
    memset(&d, 0, sizeof(d));
    char err[256] = {0};
    int rc = fmt == 1 ? png_decode_core(data, (size_t)len, mode, &d, err) : jpeg_decode_core(data, (size_t)len, mode, &d, err);
    if (rc != 0) throw std::runtime_error(std::string(fmt == 1 ? "PNG decode failed: " : "JPEG decode failed: ") + err);
    at::Tensor t;
    if (d.bytes_per_sample == 1) {
      t = at::empty({d.height, d.width, d.channels}, at::kByte);
      memcpy(t.data_ptr(), d.pixels, (size_t)d.height * d.width * d.channels);
    } else {
      t = at::empty({d.height, d.width, d.channels}, at::kInt);
      int32_t* dst = t.data_ptr<int32_t>();
      const uint16_t* src = (const uint16_t*)d.pixels;
      for (size_t i = 0, n = (size_t)d.height * d.width * d.channels; i < n; ++i) dst[i] = src[i];
    }
    free(d.pixels);
    if (info) {
      info[0] = fmt; info[1] = d.src_channels; info[2] = d.src_bit_depth; info[3] = d.src_is_palette;
      info[4] = d.palette_size; info[5] = d.height; info[6] = d.width;
    }
    if (palette && d.palette_size > 0) memcpy(palette, d.palette, (size_t)d.palette_size * 3);
    return new at::Tensor(std::move(t));
  } BF_CATCH(nullptr)
}

// Reads only the header: info as in bf_image_decode (height/width set, no pixels decoded for JPEG; PNG reads IHDR).
BF_API int bf_image_probe(const unsigned char* data, int64_t len, int* info) {
  BF_TRY {
    int fmt = sniff(data, (size_t)len);
    if (fmt == 0) throw std::runtime_error("not a PNG or JPEG file (unrecognised signature)");
    if (fmt == 1) {
      if (len < 33) throw std::runtime_error("PNG header truncated");
      auto be32 = [&](int o) { return (int)((uint32_t)data[o] << 24 | (uint32_t)data[o + 1] << 16 | (uint32_t)data[o + 2] << 8 | data[o + 3]); };
      info[0] = 1; info[6] = be32(16); info[5] = be32(20); info[2] = data[24];
      int color = data[25];
      info[3] = color == 3; info[1] = color == 0 || color == 3 ? 1 : color == 4 ? 2 : color == 2 ? 3 : 4; info[4] = 0;
      return 0;
    }
    info[0] = 2; info[1] = 3; info[2] = 8; info[3] = 0; info[4] = 0;
    // Walk JPEG markers to the first SOFn.
    int64_t p = 2;
    while (p + 9 < len) {
      if (data[p] != 0xFF) { ++p; continue; }
      int m = data[p + 1];
      if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF) { ++p; continue; }
      int seglen = data[p + 2] << 8 | data[p + 3];
      if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {
        info[5] = data[p + 5] << 8 | data[p + 6];
        info[6] = data[p + 7] << 8 | data[p + 8];
        info[1] = data[p + 9];
        return 0;
      }
      p += 2 + seglen;
    }
    throw std::runtime_error("JPEG header truncated (no frame header)");
  } BF_CATCH(-1)
}

// Encodes HWC pixels (c = 1, 2, 3 or 4; bit_depth 8 or 16, host-endian uint16 for 16) as PNG. With a palette
// (palette_size entries of RGB, c must be 1) writes a palette PNG whose indices are the pixel values.
// *out is malloc'ed: release with bf_image_free.
BF_API int bf_image_encode_png(const unsigned char* pixels, int h, int w, int c, int bit_depth, const unsigned char* palette,
                               int palette_size, int compression, unsigned char** out, int64_t* out_len) {
  BF_TRY {
    if (h <= 0 || w <= 0) throw std::runtime_error("encode_png: height and width must be positive");
    if (c < 1 || c > 4) throw std::runtime_error("encode_png: channels must be 1, 2, 3 or 4");
    if (bit_depth != 8 && bit_depth != 16) throw std::runtime_error("encode_png: bit depth must be 8 or 16");
    if (palette && (c != 1 || bit_depth != 8 || palette_size < 1 || palette_size > 256))
      throw std::runtime_error("encode_png: a palette needs 1 channel, 8 bits and 1..256 entries");
    char err[256] = {0};
    unsigned char* buf = nullptr;
    size_t n = 0;
    if (png_encode_core(pixels, h, w, c, bit_depth / 8, palette, palette_size, compression < 0 ? 6 : compression, &buf, &n, err) != 0)
      throw std::runtime_error(std::string("PNG encode failed: ") + err);
    *out = buf;
    *out_len = (int64_t)n;
    return 0;
  } BF_CATCH(-1)
}

BF_API void bf_image_free(unsigned char* p) { free(p); }

// Resizes HWC uint8 pixels src [h, w, c] into dst [oh, ow, c] through ATen's upsample kernels.
// mode 0: bilinear, align_corners=false (half-pixel centres, as cv2.INTER_LINEAR and mmcv.imresize), computed in
//         float32 and rounded half-to-even, clamped to 0..255. No antialiasing when shrinking (cv2 has none either).
// mode 1: nearest (source index floor(dst * in/out), as cv2.INTER_NEAREST and mmcv's label resizing).
BF_API int bf_image_resize(const unsigned char* src, int h, int w, int c, unsigned char* dst, int oh, int ow, int mode) {
  BF_TRY {
    if (h <= 0 || w <= 0 || oh <= 0 || ow <= 0 || c <= 0) throw std::runtime_error("resize: sizes must be positive");
    at::NoGradGuard ng;
    auto hwc_in = at::from_blob((void*)src, {1, h, w, c}, at::kByte);
    if (mode == 1) {
      // Nearest copies values, so it runs on uint8 directly; the HWC buffer viewed as NCHW is channels-last and the
      // kernel keeps that layout, so the result is already HWC.
      auto out = at::upsample_nearest2d(hwc_in.permute({0, 3, 1, 2}), {oh, ow});
      auto hwc = out.permute({0, 2, 3, 1}).contiguous();
      memcpy(dst, hwc.data_ptr(), (size_t)oh * ow * c);
      return 0;
    }
    // Bilinear on planar float32 (libtorch 1.13's kernel is faster on NCHW-contiguous input than on the channels-last
    // view for 3 channels), then one fused pass: round half to even (torch.round), clamp to 0..255, interleave to HWC.
    auto in = hwc_in.permute({0, 3, 1, 2}).to(at::kFloat).contiguous();
    auto f = at::upsample_bilinear2d(in, {oh, ow}, false).contiguous();
    const float* pf = f.data_ptr<float>();
    const int64_t plane = (int64_t)oh * ow;
    at::parallel_for(0, oh, 16, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          const int64_t i = y * ow + x;
          for (int k = 0; k < c; ++k) {
            float v = std::nearbyint(pf[k * plane + i]);
            dst[i * c + k] = (unsigned char)(v < 0.f ? 0.f : v > 255.f ? 255.f : v);
          }
        }
    });
    return 0;
  } BF_CATCH(-1)
}

#if AT_PARALLEL_OPENMP
void omp_set_num_threads(int);
#endif

// Sets libtorch's intra-op parallelism for the calling thread only (Debian's libtorch uses OpenMP, whose thread count
// is a per-thread setting): data-loader workers use 1 so that N workers do not each fan out over every core. Returns
// 0, or -1 when the build is not OpenMP (then nothing changes).
BF_API int bf_set_thread_local_num_threads(int n) {
  BF_TRY {
#if AT_PARALLEL_OPENMP
    at::internal::lazy_init_num_threads();  // libtorch would otherwise reset the count at this thread's first parallel op
    omp_set_num_threads(n < 1 ? 1 : n);
    return 0;
#else
    (void)n;
    return -1;
#endif
  } BF_CATCH(-1)
}

}  // extern "C"
