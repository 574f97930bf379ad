"""Shared test settings: small thread count and fast hypothesis profiles."""

import torch
from hypothesis import settings

torch.set_num_threads(2)
settings.register_profile("rhoproof", max_examples=25, deadline=None)
settings.load_profile("rhoproof")


# --- every certificate the suite writes is validated against the shipped JSON Schema -------

import functools  # noqa: E402
import json  # noqa: E402
from importlib import resources  # noqa: E402

import pytest  # noqa: E402

VALIDATED: list[str] = []
"""Methods of the certificates validated so far (tests/verify/test_schema.py reads it)."""


def _validator():
    import jsonschema

    schema = json.loads(resources.files("rhoproof.verify").joinpath(
        "certificate.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(autouse=True, scope="session")
def _schema_checked_certificates():
    from rhoproof.verify import certificate

    validator = _validator()
    made, bound = certificate.certify_with_bound, certificate.bind_to_run

    from rhoproof.verify.records import Certificate

    def check(cert):
        data = json.loads(json.dumps(cert.to_json()))
        errors = sorted(validator.iter_errors(data), key=str)
        assert not errors, f"certificate violates the schema: {errors[0].message}"
        assert Certificate.from_json(data).to_json() == data  # the typed record round-trips
        VALIDATED.append(cert.method)

    @functools.wraps(made)
    def certify_with_bound(*args, **kwargs):
        cert, b = made(*args, **kwargs)
        check(cert)
        return cert, b

    @functools.wraps(bound)
    def bind_to_run(*args, **kwargs):
        cert = bound(*args, **kwargs)
        check(cert)
        return cert

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(certificate, "certify_with_bound", certify_with_bound)
        mp.setattr(certificate, "bind_to_run", bind_to_run)
        yield


@pytest.fixture(scope="session")
def s4_run_dir(tmp_path_factory):
    """Three small S4 models trained once for the whole suite (explain and verify use them)."""
    from rhoproof.config import TrainConfig
    from rhoproof.train import train

    out = tmp_path_factory.mktemp("runs") / "s4"
    train(TrainConfig(group="S4", n_instances=3, d_embed=32, d_hidden=48, epochs=1500,
                      train_frac=0.8, eval_every=500, checkpoint_every=1500), out,
          progress=False)
    return out
