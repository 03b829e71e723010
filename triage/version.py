"""The tool's version, on the ground floor: the manifest and the report cache record it, and every
digest that must change with the code (signature files, detection rules, the settings a unit's
rows were made with) starts from it: a new version redoes every unit of a dataset it updates. The
package's metadata reads it from here too (pyproject.toml), so it is written once."""

__version__ = "0.2.1"
