"""What the library knows, as plain data for `triage signatures list|show`."""

from __future__ import annotations

from typing import Any

from triage.match.library import SignatureSet


def _affected(applies: dict[str, Any]) -> str:
    distros = "/".join(applies.get("distros") or [])
    ranges = []
    for r in applies.get("releases") or []:
        if "min" in r or "max" in r:
            ranges.append(f"{r.get('min', '…')}–{r.get('max', '…')}")
        else:
            ranges.append(f"{r.get('kernel_min', '…')} < {r.get('kernel_below', '…')}")
    flav = ",".join(applies.get("flavours") or [])
    return f"{distros} {', '.join(ranges)}" + (f" ({flav})" if flav else "")


def _refs(doc: dict[str, Any]) -> list[str]:
    out = []
    for r in doc.get("references") or []:
        out.append(f"RHBZ#{r['id']}" if r["type"] == "bugzilla" else r["id"])
    return out


def list_signatures(sigset: SignatureSet) -> list[dict[str, Any]]:
    """One row per signature: id, title, kind, status, references, affected releases, fix."""
    rows = []
    for sig in sigset.signatures:
        d = sig.doc
        rows.append(
            {
                "id": sig.id,
                "title": sig.title,
                "kind": d.get("kind", ""),
                "status": d.get("status", ""),
                "references": _refs(d),
                "affected": _affected(d.get("applies_to") or {}),
                "fix": " ".join(str(d.get("fix", "")).split())[:200],
                "path": str(sig.path),
                "builtin": sig.builtin,
            }
        )
    return rows


def show(sigset: SignatureSet, sig_id: str) -> dict[str, Any]:
    """The whole signature document plus where it was loaded from. KeyError when unknown."""
    sig = sigset.get(sig_id)
    if sig is None:
        known = ", ".join(sigset.ids[:20])
        raise KeyError(f"no signature {sig_id!r}; known: {known}")
    out = dict(sig.doc)
    out["_path"] = str(sig.path)
    out["_builtin"] = sig.builtin
    return out
