"""The package layout (everything else is in pyproject.toml): the top-level folders
install under the one namespace ``evrig`` (design §2; evrig/__init__.py says why).
A list computed here, not typed into pyproject.toml, so a new subpackage cannot be
left out of the wheel."""

from setuptools import find_packages, setup

FOLDERS = ["rig", "rigs", "drivers", "sim", "fixtures", "testcases"]

setup(
    packages=["evrig"] + [f"evrig.{folder}{'.' + sub if sub else ''}"
                          for folder in FOLDERS for sub in ["", *find_packages(folder)]],
    package_dir={"evrig": "evrig", **{f"evrig.{folder}": folder for folder in FOLDERS}},
)
