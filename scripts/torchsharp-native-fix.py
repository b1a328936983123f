#!/usr/bin/env python3
"""Makes TorchSharp's native library load on a libstdc++ older than GCC 13's (e.g. Debian 12).

libLibTorchSharp.so (TorchSharp 0.107) asks for GLIBCXX_3.4.32 for exactly one symbol, std::ios_base_library_init().
For every libLibTorchSharp.so found under the given folders this script checks whether the loader would refuse it:
the library still requires GLIBCXX_3.4.32 (non-weak) and the libstdc++ this machine loads lacks that symbol. Only then:
  1. it marks the GLIBCXX_3.4.32 requirement weak (VER_FLG_WEAK in .gnu.version_r): the loader then only warns,
  2. clears that symbol's version (patchelf --clear-symbol-version),
  3. adds libboostformer_glibcxx_compat.so (scripts/native/glibcxx_compat.cpp), which defines the symbol, as a
     dependency found beside the library ($ORIGIN is in its RUNPATH), and copies it there;
and, where LibTorch sits beside it (a build output), loads the result to prove it works. The original is kept as
libLibTorchSharp.so.orig (undo: move it back). Nothing changes where libstdc++ is new enough; running it twice is
harmless. Exit code 0 when every library is usable.

usage: torchsharp-native-fix.py [--compat-lib FILE] DIR_OR_FILE...
"""
import ctypes, os, shutil, struct, subprocess, sys, tempfile

SYMBOL = "_ZSt21ios_base_library_initv"
VERSION = b"GLIBCXX_3.4.32"
COMPAT = "libboostformer_glibcxx_compat.so"
VER_FLG_WEAK = 0x2
SHT_GNU_VERNEED = 0x6FFFFFFE
HERE = os.path.dirname(os.path.abspath(__file__))


def load_error(path):
    """None when the library loads, else the loader's message. Runs in a child process (a load cannot be undone)."""
    code = "import ctypes,sys\ntry: ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_LOCAL)\nexcept OSError as e: print(e); sys.exit(1)"
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stdout + r.stderr).strip()


def requires_strong_version(path):
    """True when the library's .gnu.version_r asks for GLIBCXX_3.4.32 without VER_FLG_WEAK."""
    flags = _verneed_flags(path)
    return VERSION in flags and not flags[VERSION] & VER_FLG_WEAK


def system_has_symbol():
    """True when the libstdc++ this machine's loader finds defines std::ios_base_library_init()."""
    try:
        return hasattr(ctypes.CDLL("libstdc++.so.6"), SYMBOL)
    except OSError:
        return False


def _verneed_flags(path):
    with open(path, "rb") as f:
        data = f.read()
    out = {}
    for name, flags, _ in _walk_verneed(bytearray(data), path):
        out[name] = flags
    return out


def _walk_verneed(data, path):
    """Yields (version name, flags, offset of the Vernaux entry) for every version a library needs."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"error: {path}: not a 64-bit little-endian ELF file")
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    for sh in sections:
        if sh[1] != SHT_GNU_VERNEED:
            continue
        strtab_off = sections[sh[6]][4]
        off = sh[4]
        for _ in range(sh[7]):  # sh_info = number of Verneed entries
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, off)
            a = off + aux
            for _ in range(cnt):
                _, flags, _, name, anext = struct.unpack_from("<IHHII", data, a)
                st = strtab_off + name
                yield bytes(data[st:data.index(0, st)]), flags, a
                a += anext
            off += nxt


def mark_weak(path):
    """Sets VER_FLG_WEAK on the GLIBCXX_3.4.32 entry of .gnu.version_r (ELF64 little-endian). Returns True if changed."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        changed = False
        for name, flags, at in list(_walk_verneed(data, path)):
            if name == VERSION and not flags & VER_FLG_WEAK:
                struct.pack_into("<H", data, at + 4, flags | VER_FLG_WEAK)
                changed = True
        if changed:
            f.seek(0)
            f.write(data)
        return changed


def compat_lib(explicit):
    if explicit:
        return explicit
    out = os.path.join(tempfile.gettempdir(), f"boostformer-{os.getuid()}", COMPAT)
    src = os.path.join(HERE, "native", "glibcxx_compat.cpp")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = out + f".{os.getpid()}.tmp"
        subprocess.run(["g++", "-O2", "-shared", "-fPIC", "-o", tmp, src], check=True)
        os.replace(tmp, out)
    return out


def fix(path, compat_getter):
    if not requires_strong_version(path) or system_has_symbol():
        return restore_compat(path, compat_getter)
    if shutil.which("patchelf") is None:
        print("error: patchelf is needed to patch TorchSharp's native library (apt-get install patchelf)", file=sys.stderr)
        return "failed"
    folder = os.path.dirname(path)
    # Work on a copy and rename it over the original: a reader never sees a half-patched file.
    tmp = path + f".{os.getpid()}.tmp"
    shutil.copy2(path, tmp)
    mark_weak(tmp)
    subprocess.run(["patchelf", "--clear-symbol-version", SYMBOL, tmp], check=True)
    needed = subprocess.run(["patchelf", "--print-needed", tmp], capture_output=True, text=True, check=True).stdout.split()
    if COMPAT not in needed:
        subprocess.run(["patchelf", "--add-needed", COMPAT, tmp], check=True)
    ctmp = os.path.join(folder, COMPAT + f".{os.getpid()}.tmp")
    shutil.copy2(compat_getter(), ctmp)
    os.replace(ctmp, os.path.join(folder, COMPAT))
    if not os.path.exists(path + ".orig"):
        shutil.copy2(path, path + ".orig")
    os.replace(tmp, path)
    if os.path.exists(os.path.join(folder, "libtorch.so")):
        err = load_error(path)
        if err is not None:
            print(f"error: {path} still does not load after patching: {err}", file=sys.stderr)
            return "failed"
    return "patched"


def restore_compat(path, compat_getter):
    """A library patched elsewhere and copied here (MSBuild copies a referenced project's patched native files) needs
    the compat library beside it too: copy it when the library names it and it is missing."""
    folder = os.path.dirname(path)
    if os.path.exists(os.path.join(folder, COMPAT)) or shutil.which("patchelf") is None:
        return "ok"
    needed = subprocess.run(["patchelf", "--print-needed", path], capture_output=True, text=True).stdout.split()
    if COMPAT not in needed:
        return "ok"
    ctmp = os.path.join(folder, COMPAT + f".{os.getpid()}.tmp")
    shutil.copy2(compat_getter(), ctmp)
    os.replace(ctmp, os.path.join(folder, COMPAT))
    return "restored"


def main(argv):
    compat = None
    if len(argv) >= 2 and argv[0] == "--compat-lib":
        compat, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    libs = []
    for root in argv:
        if os.path.isfile(root):
            libs.append(root)
        for d, _, files in os.walk(root):
            libs += [os.path.join(d, f) for f in files if f == "libLibTorchSharp.so"]
    status = 0
    for lib in sorted(set(libs)):
        r = fix(lib, lambda: compat_lib(compat))
        if r == "patched":
            print(f"torchsharp-native-fix: patched {lib} (GLIBCXX_3.4.32 -> {COMPAT}; original kept as .orig)")
        elif r == "restored":
            print(f"torchsharp-native-fix: {lib} was patched already; put {COMPAT} beside it")
        elif r == "failed":
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
