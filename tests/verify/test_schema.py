"""The certificate format is documented (docs/certificate.md) and shipped as a JSON Schema;
every certificate the suite writes is validated against it (tests/conftest.py)."""

import json

import jsonschema
import pytest

from rhoproof.groups import group
from rhoproof.model import Folded
from rhoproof.testing import planted
from rhoproof.verify.certificate import certify_model

from ..conftest import VALIDATED, _validator


def test_the_schema_is_valid_and_documented():
    from importlib import resources
    from pathlib import Path

    schema = json.loads(resources.files("rhoproof.verify").joinpath(
        "certificate.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = (Path(__file__).parents[2] / "docs" / "certificate.md").read_text()
    names = set(schema["properties"])
    for d in schema["$defs"].values():
        names |= set(d.get("properties", {}))
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert missing == [], f"fields not documented in docs/certificate.md: {missing}"


def test_every_certificate_written_is_validated():
    g = group("S3")
    before = len(VALIDATED)
    f = planted(g, "2d-0", 2)
    huge = Folded(f.left * 2.0**80, f.right, f.unembed, f.bias)  # refused: outside the range
    for model in (f, huge):
        for method in ("irrep", "coset", "brute"):
            certify_model(model, g, 0, method)
    assert len(VALIDATED) - before == 6


@pytest.mark.parametrize("edit", [
    lambda c: c.pop("format"),
    lambda c: c.update(certified_inputs="36"),
    lambda c: c.update(method="other"),
    lambda c: c["proof"][0].update(kind="lookup"),
    lambda c: c.update(unknown_field=1),
    lambda c: c.pop("proof"),
])
def test_malformed_certificates_fail_the_schema(edit):
    g = group("S3")
    cert = json.loads(json.dumps(certify_model(planted(g, "2d-0", 2), g, 0).to_json()))
    edit(cert)
    assert list(_validator().iter_errors(cert))
