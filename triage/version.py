"""The tool's version, on the ground floor: the manifest and the report cache record it, and every
digest that must change with the code (signature files, detection rules) starts from it. The
package's metadata reads it from here too (pyproject.toml), so it is written once."""

__version__ = "0.1.0"
