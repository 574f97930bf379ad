"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhoproof.errors import CertificateError, RunError

if TYPE_CHECKING:  # torch is imported where tensors are saved: the rest needs none
    import torch


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give (mkstemp's files are private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_save_tensors(path: str | Path, tensors: dict[str, torch.Tensor],
                        metadata: dict[str, str] | None = None) -> None:
    """safetensors ``save_file`` through a temporary file and a rename."""
    from safetensors.torch import save_file

    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp,
                  metadata=metadata)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


MAX_CERTIFICATE = 64 << 20
"""Bytes: far above any honest certificate (S5: under 60 KB), far below what would exhaust
memory when parsed."""


def load_certificate(path: str | Path) -> dict[str, Any]:
    """A certificate file as parsed JSON (an object), or CertificateError in one line; no
    validation (that is the checker's), and no torch: `check` fails fast on a bad file."""
    if Path(path).is_dir():
        raise CertificateError(f"{path} is a directory, not a certificate (the order is "
                               f"rhoproof check CERTIFICATE RUN_DIR)")
    try:
        if Path(path).is_file() and Path(path).stat().st_size > MAX_CERTIFICATE:
            raise CertificateError(f"{path}: larger than any certificate "
                                   f"({MAX_CERTIFICATE >> 20} MiB)")
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CertificateError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers beyond Python's digit limit
        raise CertificateError(f"{path}: not a readable JSON certificate: "
                               f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise CertificateError(f"{path}: a certificate is a JSON object, got "
                               f"{type(data).__name__}")
    return data


def ensure_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) or raise RunError saying why not."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise RunError(f"directory {path} is not writable")
    return path
