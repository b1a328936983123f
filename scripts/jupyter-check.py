#!/usr/bin/python3
"""Executes notebooks the way Jupyter does — nbclient with the `.net-csharp` kernel that `dotnet interactive jupyter
install` registers (scripts/setup.sh does) — and fails if any cell errors. The kernel starts in the notebook's folder,
as in Jupyter; scale and data root come from BOOSTFORMER_SCALE / BOOSTFORMER_DATA (this script defaults the scale to ci).

usage: scripts/jupyter-check.py [--timeout S] [--output DIR] notebook.ipynb...
Exit codes: 0 every notebook ran with no error output; 1 a cell failed; 2 bad usage or Jupyter/kernel missing.
"""
import argparse, os, sys, time

def first_line(text) -> str:
    """The first line of an error value (.NET Interactive puts the whole stack trace into it)."""
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--timeout", type=int, default=900, help="per-cell time limit in seconds (default 900)")
    ap.add_argument("--output", help="folder for the executed copies (default: none written)")
    ap.add_argument("--kernel", default=".net-csharp")
    args = ap.parse_args()
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError as e:
        print(f"error: {e.name} is not installed (apt-get install python3-nbclient jupyter-client)", file=sys.stderr)
        return 2
    try:
        KernelSpecManager().get_kernel_spec(args.kernel)
    except NoSuchKernel:
        print(f"error: no Jupyter kernel '{args.kernel}': run `dotnet interactive jupyter install` in the repository (scripts/setup.sh does)", file=sys.stderr)
        return 2
    os.environ.setdefault("BOOSTFORMER_SCALE", "ci")
    for path in args.notebooks:
        if not os.path.isfile(path):
            print(f"error: {path}: no such notebook", file=sys.stderr)
            return 2
        nb = nbformat.read(path, as_version=4)
        folder = os.path.dirname(os.path.abspath(path))
        client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout, startup_timeout=180,
                                resources={"metadata": {"path": folder}})
        start = time.time()
        failure = None
        try:
            client.execute(cwd=folder)
        except CellExecutionError as e:
            failure = f"{getattr(e, 'ename', 'error')}: {first_line(getattr(e, 'evalue', ''))}"
        except Exception as e:  # kernel died, timeout
            failure = f"{type(e).__name__}: {e}"
        errors = [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if errors:  # the first error output names the cell, the exception and its message
            i, o = errors[0]
            failure = f"cell {i + 1}: {o.get('ename')}: {first_line(o.get('evalue', ''))}"
        if args.output:
            os.makedirs(args.output, exist_ok=True)
            nbformat.write(nb, os.path.join(args.output, os.path.basename(path)))
        name = os.path.basename(path)
        if failure:
            print(f"{name}: FAILED in {time.time() - start:.1f} s: {failure}")
            return 1
        print(f"{name}: ok in {time.time() - start:.1f} s ({sum(c.cell_type == 'code' for c in nb.cells)} code cells, kernel {args.kernel})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
