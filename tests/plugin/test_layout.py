"""The house's rule: imports only point down (common <- domains <- workflows <- algorithms <- provider <- plugin).

Every import of the plugin's own modules is read from the source (lazy imports inside
functions included) and checked against the layer of the importing module; the module
graph must also be free of circles.
"""
import ast
import os

from conftest import REPO

LAYERS = {
    "common": 0,
    "preprocessing": 1, "evaluation": 1, "simulation": 1, "models": 1,
    "workflows": 2,
    "algorithms": 3,
    "desktop": 4, "provider": 4,
    "lst_fusion_plugin": 5,
    "": 6,  # the package's __init__ (classFactory)
}
SKIP = {"tests", "scripts", "benchmarks", "resources", ".build", ".venv", "dist", ".git"}


def plugin_modules():
    """{dotted module name relative to the plugin: path} for every plugin source file."""
    modules = {}
    for root, dirs, files in os.walk(REPO):
        rel_root = os.path.relpath(root, REPO)
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith((".", "demo-output"))]
        for name in files:
            if not name.endswith(".py"):
                continue
            parts = [] if rel_root == "." else rel_root.split(os.sep)
            if name != "__init__.py":
                parts.append(name[:-3])
            modules[".".join(parts)] = os.path.join(root, name)
    return modules


def imports_of(module: str, path: str, known) -> set:
    """The plugin modules imported by ``module`` (relative and absolute ``lst_fusion_plugin.`` imports)."""
    is_package = path.endswith("__init__.py")
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = [p for p in package if p]
    found = set()
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("lst_fusion_plugin"):
                target = node.module[len("lst_fusion_plugin"):].lstrip(".")
            else:
                continue
            names = [f"{target}.{alias.name}".lstrip(".") for alias in node.names]
            if any(name not in known for name in names):  # a name defined in the module ``target``
                names.append(target)
        elif isinstance(node, ast.Import):
            names = [a.name[len("lst_fusion_plugin"):].lstrip(".") for a in node.names
                     if a.name.startswith("lst_fusion_plugin.")]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name in known and name != module:
                found.add(name)
    return found


def layer_of(module: str):
    return module.split(".")[0], LAYERS[module.split(".")[0]]


def graph():
    modules = plugin_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def test_every_top_level_module_has_a_layer():
    unknown = {m.split(".")[0] for m in plugin_modules()} - set(LAYERS)
    assert not unknown, f"give these a layer in LAYERS: {unknown}"


def test_imports_only_point_down():
    upward = []
    for module, targets in graph().items():
        top, level = layer_of(module)
        for target in targets:
            target_top, target_level = layer_of(target)
            if target_top != top and target_level >= level and target_top != "":
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_no_import_circle():
    edges = graph()
    state, stack, circles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_checker_sees_lazy_and_relative_imports():
    """A lazy import inside a function is an import too (the check would pass by accident otherwise)."""
    edges = graph()
    assert "models.deep.model_file" in edges["workflows.methods"]  # imported inside model_spec()
    assert "common.errors" in edges["preprocessing.align"]
    assert "workflows.fuse_series" in edges["algorithms.fuse_series"]
