"""What the fixture scripts share: running selected pieces of upstream source, and recording
which upstream commit and package versions made a fixture.

Running selected pieces of upstream BEND's source without importing its modules:

Some fixture scripts need one class of a module whose imports they cannot or do not want to
satisfy (torch, or model modules that need a GPU). exec_selected() parses the upstream file and
executes only the chosen top-level statements: the imports they need, some assignments, some
classes. The code that runs is upstream's, read from the checkout at run time; nothing of it is
copied into this repository."""
import ast
import subprocess
import sys
from importlib import metadata


def exec_selected(path, module_name, *, modules=(), imported_names=(), assigns=(), classes=(),
                  keep_calls=False, namespace=None):
    """Executes, from the Python file at `path`, the top-level statements selected by:
    modules         `import m` / `from m import ...` whose module is in this set (an `import`
                    line is trimmed to those modules);
    imported_names  any import line that imports one of these names;
    assigns         assignments to one of these names;
    classes         class definitions with one of these names;
    keep_calls      bare calls (e.g. logging.set_verbosity_error()).
    Returns the namespace (`namespace` pre-filled, if given). Exits naming what is missing."""
    with open(path) as fh:
        tree = ast.parse(fh.read(), filename=path)
    modules, imported_names = set(modules), set(imported_names)
    body, found = [], set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a for a in node.names if a.name in modules or a.name in imported_names]
            if names:
                body.append(ast.Import(names=names))
        elif isinstance(node, ast.ImportFrom):
            if node.module in modules or any(a.name in imported_names for a in node.names):
                body.append(node)
        elif isinstance(node, ast.Assign):
            targets = {t.id for t in node.targets if isinstance(t, ast.Name)} & set(assigns)
            if targets:
                body.append(node)
                found |= targets
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and keep_calls:
            body.append(node)
        elif isinstance(node, ast.ClassDef) and node.name in classes:
            body.append(node)
            found.add(node.name)
    missing = (set(assigns) | set(classes)) - found
    if missing:
        sys.exit(f"{path}: could not find {sorted(missing)}")
    ns = {"__name__": module_name, "__file__": path, **(namespace or {})}
    module = ast.Module(body=body, type_ignores=[])
    ast.fix_missing_locations(module)
    exec(compile(module, path, "exec"), ns)
    return ns


def git_commit(checkout, given=None):
    """`given` when set, else the HEAD commit of the git checkout, else "unknown" (an export)."""
    if given:
        return given
    try:
        return subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def package_versions(names, missing="?"):
    """"name==version ..." for the installed packages; a missing one reads name==<missing>, or is
    left out when missing is None."""
    out = []
    for n in names:
        try:
            out.append(f"{n}=={metadata.version(n)}")
        except metadata.PackageNotFoundError:
            if missing is not None:
                out.append(f"{n}=={missing}")
    return " ".join(out)
