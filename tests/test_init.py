"""The package map in mnist_cnn/__init__.py against the modules and imports as they are."""

import ast
from pathlib import Path

import mnist_cnn

PACKAGE = Path(mnist_cnn.__file__).parent


def floors_of_the_map():
    """Return {module: floor index, 0 on top} from the docstring's indented module lines."""
    floors, floor = {}, -1
    for line in mnist_cnn.__doc__.splitlines()[3:]:
        if line and not line.startswith(" ") and not line.startswith("Beside"):
            floor += 1  # a floor's heading: "numbers: computed once, no sentences"
        elif line.startswith("    ") and not line.startswith("     "):
            floors[line.split()[0].rstrip("/")] = floor
    return floors


def package_imports(path):
    """Return the names of the package's modules that the file at `path` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module.split(".")[0]] if node.module
                         else [alias.name for alias in node.names])
    return found


def test_the_map_names_every_module_once():
    floors = floors_of_the_map()
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert set(floors) - {"reference"} == modules
    assert (PACKAGE / "reference").is_dir() and (PACKAGE / "speed").is_dir()


def test_no_module_imports_from_a_floor_above_its_own():
    floors = floors_of_the_map()
    upward = [(module, imported)
              for module, floor in floors.items() if (PACKAGE / f"{module}.py").exists()
              for imported in package_imports(PACKAGE / f"{module}.py")
              if imported in floors and floors[imported] < floor]
    assert upward == []
